#!/usr/bin/env bash
# Voice to voice over Twilio Media Streams, measured at the caller: CALLS emulated Twilio
# streams (crates/server/examples/twilio_caller.rs) each ask the 12 questions of
# bench/turn_latency.sh in an espeak-ng voice; for each, the time from the last loud 20 ms the
# caller sent to the first loud 20 ms of the reply it received. Also prints the server's own
# split (its `turn latency` log lines: end-of-turn wait, recognition, agent, first audio).
# Usage: bench/twilio_latency.sh [CALLS]   (release build). CALLER_VOICE chooses the caller's
# voice (bench/caller.sh); BENCH_LOG=FILE keeps the server's log; SERVE_ARGS adds options to
# `parley serve` (for example `--speculate-after-ms 160`); BENCH_TURN_TAKING (JSON, for example
# '{"finished_ms": 300}') overrides the demo agent's `turn_taking`.
set -euo pipefail
CALLS="${1:-1}"
cd "$(dirname "$0")/.."
cargo build -q --release -p parley-server --bin parley --example twilio_caller
W=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; rm -rf "$W"' EXIT
SIP=127.0.0.1:25160; HTTP=127.0.0.1:28180
./target/release/parley serve --sip-listen $SIP --http-listen $HTTP --data-dir "$W/data" ${SERVE_ARGS:-} >/dev/null 2>"$W/parley.log" &
SERVER=$!
until curl -sf "http://$HTTP/healthz" >/dev/null; do sleep 0.2; done
OP=$(./target/release/parley admin create-key --role platform-admin --data-dir "$W/data" 2>/dev/null)
. bench/caller.sh
caller_wav "$W"
sox "$W/caller.wav" -t raw -e mu-law -b 8 -r 8000 -c 1 "$W/caller.ul"
./target/release/examples/twilio_caller "http://$HTTP" "$OP" "$W/caller.ul" "$CALLS"
turn_summary "$W/parley.log"
[ -z "${BENCH_LOG:-}" ] || cp "$W/parley.log" "$BENCH_LOG"
