#!/usr/bin/env bash
# Measures the time from the caller's end of speech to the first RTP packet of the agent's reply,
# split into end-of-turn wait, ASR, agent and TTS-to-first-audio, over a real baresip call that
# asks 12 questions. Prints each turn and the medians. Usage: bench/turn_latency.sh [CALLS]
# With CALLS > 1, that many softphones call at once (started 0.5 s apart), and the figures are
# over all their turns: how latency holds up with conversations side by side. CALLER_VOICE
# chooses the caller's voice (bench/caller.sh); BENCH_LOG=FILE keeps the server's log; SERVE_ARGS
# adds options to `parley serve` (for example `--speculate-after-ms 160`).
set -euo pipefail
CALLS="${1:-1}"
cd "$(dirname "$0")/.."
cargo build -q --release -p parley-server
W=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; rm -rf "$W"' EXIT
. bench/caller.sh
serve "$W"
caller_wav "$W"
DUR=$(soxi -D "$W/caller.wav" | cut -d. -f1)
pids=()
for n in $(seq 1 "$CALLS"); do
  baresip_config "$W/bs$n" $((25070 + 2 * n)) "$W/caller.wav" "bench$n"
  baresip -f "$W/bs$n" -e "/dial sip:demo@$SIP" -t $((DUR + 5)) </dev/null >/dev/null 2>&1 &
  pids+=($!)
  sleep 0.5
done
for p in "${pids[@]}"; do wait "$p" || true; done
turn_summary "$W/parley.log" turns
[ -z "${BENCH_LOG:-}" ] || cp "$W/parley.log" "$BENCH_LOG"
