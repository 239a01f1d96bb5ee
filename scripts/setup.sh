#!/usr/bin/env bash
# Installs whatever voicegate needs that this machine lacks. Idempotent: a second run on a
# ready machine checks and does nothing. Called by `make setup` (and so by `make run`/`make test`).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
# Installs those of the given Debian packages that are missing, with a line saying which.
install_debian() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing Debian packages: ${missing[*]}"
  local SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# cmake/clang/libclang-dev: whisper-rs builds whisper.cpp and bindgen needs libclang (cmake also
# builds the bundled libopus).
# espeak-ng + sox: generate audio fixtures; libespeak-ng-dev: the TTS engine.
# sip-tester: SIPp, the real SIP peer of the integration tests; tcpdump: the tests capture the
# bot's RTP on its way to SIPp; baresip-core: a real softphone (SIP over TLS, SRTP) as caller.
# asterisk-core-sounds-en(-wav): real 8 kHz telephone prompts with transcripts (ASR bench).
PACKAGES=(
  build-essential cmake clang libclang-dev pkg-config
  espeak-ng libespeak-ng-dev sox libsox-fmt-all
  sip-tester tcpdump baresip-core asterisk-core-sounds-en asterisk-core-sounds-en-wav
  libopus-dev sqlite3 ca-certificates
)
# python3 with pip may come from pyenv rather than Debian: only ask Debian when none works.
python3 -m pip --version >/dev/null 2>&1 || PACKAGES+=(python3 python3-pip)
install_debian "${PACKAGES[@]}"

# --- sherpa-onnx C API (for Silero VAD and sherpa TTS via sherpa-rs) ----------------------------
# sherpa-rs-sys links the prebuilt library named by SHERPA_LIB_PATH (.cargo/config.toml points it
# at .deps/sherpa_onnx); build.rs bakes an rpath so binaries and tests find the .so files.
SHERPA_VERSION=1.12.9
SHERPA_WHEEL_SHA256=3afb13a8a0644fb7e1a751ea316d86d7842c78c3942c7456d2f0683aa0f1d5cd
if [ ! -f .deps/sherpa_onnx/lib/libsherpa-onnx-c-api.so ]; then
  say "fetching sherpa-onnx-core==${SHERPA_VERSION} (PyPI wheel)"
  mkdir -p .deps/wheels
  python3 -m pip download -q --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --python-version 3.11 \
    "sherpa-onnx-core==${SHERPA_VERSION}" -d .deps/wheels
  wheel=$(ls .deps/wheels/sherpa_onnx_core-${SHERPA_VERSION}-*.whl | head -n1)
  echo "${SHERPA_WHEEL_SHA256}  ${wheel}" | sha256sum -c --quiet -
  python3 -m zipfile -e "$wheel" .deps/
fi

# --- Node tools for browser tests (playwright-core drives Debian's chromium) ---------------------
# The web pages (web/) are checked in a real headless browser: Debian's chromium, driven by
# playwright-core from npm (package.json), which never downloads a browser of its own.
# fonts-noto-cjk: the Chinese UI renders with real glyphs in screenshots.
BROWSER_PACKAGES=(chromium fonts-noto-cjk nodejs npm)
# node/npm may come from elsewhere (nvm, a tarball): only ask Debian when none works.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
  && BROWSER_PACKAGES=(chromium fonts-noto-cjk)
install_debian "${BROWSER_PACKAGES[@]}"
if [ ! -d node_modules/playwright-core ]; then
  say "installing playwright-core (npm; the browser is Debian's chromium)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --no-audit --no-fund --loglevel=error
fi

say "system ready (models are resolved by \`voicegate models\`; see README)"
