#!/usr/bin/env bash
# Voice to voice of a call from the console's "Call" button (WebRTC: Opus, DTLS-SRTP, the
# browser's jitter buffer), measured in the page: CALLS chromium pages at once each place a
# browser call to the demo agent with a synthetic microphone that plays the 12 questions of
# bench/turn_latency.sh (Web Audio, so the page knows when each question ends), and time, on
# the same audio clock, the first loud 20 ms of the agent's reply. Also prints the server's own
# split (its `turn latency` log lines). Needs scripts/setup.sh --test-peers (chromium,
# playwright-core). Usage: bench/browser_call_latency.sh [CALLS]   (release build)
set -euo pipefail
CALLS="${1:-1}"
cd "$(dirname "$0")/.."
cargo build -q --release -p parley-server --bin parley
W=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; rm -rf "$W"' EXIT
SIP=127.0.0.1:25260; HTTP=127.0.0.1:28280
./target/release/parley serve --sip-listen $SIP --http-listen $HTTP --data-dir "$W/data" >/dev/null 2>"$W/parley.log" &
SERVER=$!
until curl -sf "http://$HTTP/healthz" >/dev/null; do sleep 0.2; done
OP=$(./target/release/parley admin create-key --role platform-admin --data-dir "$W/data" 2>/dev/null)
api() { curl -sf -X "$1" "http://$HTTP$2" -H "authorization: Bearer $OP" -H 'content-type: application/json' ${3:+-d "$3"}; }
api POST /v1/tenants '{"id": "bench", "name": "Bench"}' >/dev/null
INV=$(api POST /v1/tenants/bench/invitations '{"email": "owner@bench.example", "role": "owner"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
curl -sf -X POST "http://$HTTP/v1/invitations/accept" -H 'content-type: application/json' -d "{\"token\": \"$INV\", \"password\": \"a bench passphrase\"}" >/dev/null
. bench/caller.sh
caller_wav "$W"
PEERS="${PARLEY_TEST_PEERS:-$HOME/.local/share/parley/test-peers}"
NODE_PATH="$PEERS/browser/node_modules" BASE="http://$HTTP" WAV="$W/caller.wav" CALLS="$CALLS" AGENT="crates/agent/agents/demo.yaml" \
  node bench/browser_call.cjs
turn_summary "$W/parley.log"
