#!/usr/bin/env bash
# Measures the time from the caller's end of speech to the first RTP packet of the agent's reply,
# split into end-of-turn wait, ASR, agent and TTS-to-first-audio, over a real baresip call that
# asks 12 questions. Prints each turn and the medians. Usage: bench/turn_latency.sh [CALLS]
# With CALLS > 1, that many softphones call at once (started 0.5 s apart), and the figures are
# over all their turns: how latency holds up with conversations side by side.
set -euo pipefail
CALLS="${1:-1}"
cd "$(dirname "$0")/.."
cargo build -q --release -p parley-server
W=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; rm -rf "$W"' EXIT
SIP=127.0.0.1:25060; HTTP=127.0.0.1:28080
./target/release/parley serve --sip-listen $SIP --http-listen $HTTP --data-dir "$W/data" >/dev/null 2>"$W/parley.log" &
SERVER=$!
until curl -sf "http://$HTTP/healthz" >/dev/null; do sleep 0.2; done
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
DUR=$(soxi -D "$W/caller.wav" | cut -d. -f1)
pids=()
for n in $(seq 1 "$CALLS"); do
  mkdir -p "$W/bs$n"
  cat > "$W/bs$n/config" <<CFG
sip_listen 127.0.0.1:$((25070 + 2 * n))
net_interface 127.0.0.1
audio_source aufile,$W/caller.wav
audio_player aufile,/dev/null
audio_alert aufile,/dev/null
module_path /usr/lib/baresip/modules
module stdio.so
module g711.so
module aufile.so
module account.so
module menu.so
CFG
  echo "<sip:bench$n@127.0.0.1:$((25070 + 2 * n))>;auth_pass=none" > "$W/bs$n/accounts"
  baresip -f "$W/bs$n" -e "/dial sip:demo@$SIP" -t $((DUR + 5)) </dev/null >/dev/null 2>&1 &
  pids+=($!)
  sleep 0.5
done
for p in "${pids[@]}"; do wait "$p" || true; done
python3 - "$W/parley.log" "$CALLS" <<'PY'
import json, statistics, sys
rows = [json.loads(l)["fields"] for l in open(sys.argv[1]) if '"turn latency"' in l]
keys = ["eot_ms", "asr_ms", "agent_ms", "tts_ms", "total_ms"]
for r in rows: print(" ".join(f"{k}={r[k]}" for k in keys))
print(f"calls={sys.argv[2]} turns={len(rows)} median: " + " ".join(f"{k}={statistics.median(r[k] for r in rows)}" for k in keys))
if len(rows) >= 2:
    p90 = lambda k: statistics.quantiles([r[k] for r in rows], n=10, method="inclusive")[8]
    print("p90: " + " ".join(f"{k}={p90(k):.0f}" for k in keys))
ends = [json.loads(l)["fields"] for l in open(sys.argv[1]) if '"call ended"' in l]
print("calls ended: " + ", ".join(sorted(f"{e['reason']}/{e['outcome']} after {e['turns']} turns" for e in ends)))
PY
