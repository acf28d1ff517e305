#!/usr/bin/env bash
# Voice to voice over Twilio Media Streams, measured at the caller: CALLS emulated Twilio
# streams (crates/server/examples/twilio_caller.rs) each ask the 12 questions of
# bench/turn_latency.sh in an espeak-ng voice; for each, the time from the last loud 20 ms the
# caller sent to the first loud 20 ms of the reply it received. Also prints the server's own
# split (its `turn latency` log lines: end-of-turn wait, recognition, agent, first audio).
# Usage: bench/twilio_latency.sh [CALLS]   (release build)
set -euo pipefail
CALLS="${1:-1}"
cd "$(dirname "$0")/.."
cargo build -q --release -p parley-server --bin parley --example twilio_caller
W=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; rm -rf "$W"' EXIT
SIP=127.0.0.1:25160; HTTP=127.0.0.1:28180
./target/release/parley serve --sip-listen $SIP --http-listen $HTTP --data-dir "$W/data" >/dev/null 2>"$W/parley.log" &
SERVER=$!
until curl -sf "http://$HTTP/healthz" >/dev/null; do sleep 0.2; done
OP=$(./target/release/parley admin create-key --role platform-admin --data-dir "$W/data" 2>/dev/null)
say() { espeak-ng -v en-us -s 140 -w "$W/r.wav" "$1"; sox "$W/r.wav" -r 8000 -c 1 -b 16 "$W/$2.wav"; }
sox -n -r 8000 -c 1 -b 16 "$W/s3.wav" trim 0 3
sox -n -r 8000 -c 1 -b 16 "$W/s12.wav" trim 0 12
parts=("$W/s3.wav")
questions=("What are your opening hours?" "Where is order one zero zero two?" "When are you open on Saturday?"
  "Check order one zero zero seven please." "What time do you close?" "Status of order one zero zero nine."
  "Are you open on Sunday?" "Order number one zero zero one." "What are your hours?" "Where is order one zero zero four?"
  "When do you open?" "Order one zero zero six please.")
i=0; for q in "${questions[@]}"; do say "$q" "q$i"; parts+=("$W/q$i.wav" "$W/s12.wav"); i=$((i+1)); done
sox "${parts[@]}" "$W/caller.wav"
sox "$W/caller.wav" -t raw -e mu-law -b 8 -r 8000 -c 1 "$W/caller.ul"
./target/release/examples/twilio_caller "http://$HTTP" "$OP" "$W/caller.ul" "$CALLS"
python3 - "$W/parley.log" <<'PY'
import json, statistics, sys
rows = [json.loads(l)["fields"] for l in open(sys.argv[1]) if '"turn latency"' in l]
keys = ["eot_ms", "asr_ms", "agent_ms", "tts_ms", "total_ms"]
if rows:
    print(f"server side, turns={len(rows)} median: " + " ".join(f"{k}={statistics.median(r[k] for r in rows)}" for k in keys))
if len(rows) >= 2:
    p90 = lambda k: statistics.quantiles([r[k] for r in rows], n=10, method="inclusive")[8]
    print("server side p90: " + " ".join(f"{k}={p90(k):.0f}" for k in keys))
ends = [json.loads(l)["fields"] for l in open(sys.argv[1]) if '"call ended"' in l]
print("calls ended: " + ", ".join(sorted(f"{e['reason']}/{e['outcome']} after {e['turns']} turns" for e in ends)))
PY
