#!/usr/bin/env bash
# Barge-in as the caller hears it: real baresip softphones call the demo agent one after another
# and talk over its greeting, each starting at another moment; baresip's sndfile module keeps
# what the phone sent and what it played, and the bench reads from them how long the agent's
# voice went on after the caller's first word (the first 20 ms above -40 dBFS).
#
# Three things are said over the greeting:
#   question  "Sorry, can I ask about my order?": the agent falls silent and stays so;
#   continuer "Okay.": the agent falls silent, then goes on (the gap is reported; Whisper
#             tiny.en hears Piper's "Uh-huh." as "Uh." and its "Mm-hmm." as "and my mom");
#   knock     120 ms of noise (a cough, a knock on the desk): the agent should not stop.
# Usage: bench/barge_in.sh [TRIALS]  (TRIALS question calls, 8 by default; 4 of each of the
# others). The caller's voice is Piper joe (bench/caller.sh). JBUF=MIN-MAX sets baresip's
# jitter buffer in frames (its default 5-10 holds 100 ms or more before it plays, which is in
# the figure; 1-2 leaves little but the server). BENCH_LOG=FILE keeps the server's log. Needs
# scripts/setup.sh --test-peers.
set -euo pipefail
TRIALS="${1:-8}"
cd "$(dirname "$0")/.."
cargo build -q --release -p parley-server -p parley-speech --example speak
W=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; rm -rf "$W"' EXIT
. bench/caller.sh
serve "$W"
./target/release/examples/speak joe "$W/question.wav" "Sorry, can I ask about my order?"
./target/release/examples/speak joe "$W/continuer.wav" "Okay."
sox -n -r 8000 -c 1 -b 16 "$W/knock.wav" synth 0.12 pinknoise vol 0.5
sox -n -r 8000 -c 1 -b 16 "$W/after.wav" trim 0 5

# call KIND ONSET_S N: one call whose caller says KIND's words ONSET_S seconds after the answer.
call() {
  local kind=$1 onset=$2 n=$3 d="$W/$1$3"
  if [ "$kind" = none ]; then
    sox -n -r 8000 -c 1 -b 16 "$d.wav" trim 0 9
  else
    sox -n -r 8000 -c 1 -b 16 "$W/lead$n.wav" trim 0 "$onset"
    sox "$W/lead$n.wav" "$W/$kind.wav" "$W/after.wav" "$d.wav"
  fi
  baresip_config "$d" $((25070 + 2 * n)) "$d.wav" "barge$n"
  sed -i 's/^module aufile.so/module aufile.so\nmodule sndfile.so/' "$d/config"
  printf 'snd_path %s\n' "$d" >> "$d/config"
  [ -z "${JBUF:-}" ] || printf 'jitter_buffer_delay %s\n' "$JBUF" >> "$d/config"
  local dur; dur=$(soxi -D "$d.wav" | cut -d. -f1)
  baresip -f "$d" -e "/dial sip:demo@$SIP" -t $((dur + 1)) </dev/null >/dev/null 2>&1 || true
  echo "$kind $onset $(ls "$d"/dump-*-enc.wav) $(ls "$d"/dump-*-dec.wav)" >> "$W/calls"
}
call none 0 0
n=0
for i in $(seq 0 $((TRIALS - 1))); do
  n=$((n + 1)); call question "$(python3 -c "print(round(1.0 + $i * 3.0 / $TRIALS, 2))")" $n
done
for onset in 1.2 1.6 2.8 3.2; do
  n=$((n + 1)); call continuer $onset $n
  n=$((n + 1)); call knock $onset $n
done

[ -z "${BENCH_LOG:-}" ] || cp "$W/parley.log" "$BENCH_LOG"
python3 - "$W/calls" <<'PY'
import math, statistics, sys, wave
FRAME = 160  # 20 ms at 8 kHz
def loud(path):
    w = wave.open(path)
    raw = w.readframes(w.getnframes())
    pcm = [int.from_bytes(raw[i:i + 2], "little", signed=True) for i in range(0, len(raw), 2)]
    return [math.sqrt(sum(s * s for s in pcm[i:i + FRAME]) / FRAME) > 328 for i in range(0, len(pcm) - FRAME, FRAME)]
def voices(enc, dec):
    """The caller's loud frames, and the agent's as the phone played them, on the caller's clock
    (frames of 20 ms since the call's audio started). Both dumps end when the call does; the
    played one starts later (the first packet, the jitter buffer), so played frame j is sent
    frame j + shift."""
    sent, heard = loud(enc), loud(dec)
    shift = len(sent) - len(heard)
    return [i for i, l in enumerate(sent) if l], {j + shift for j, l in enumerate(heard) if l}
calls = [line.split() for line in open(sys.argv[1])]
_, base = voices(*[c for c in calls if c[0] == "none"][0][2:])
# Frames inside the greeting's own speech (its edges left out: the clocks agree to a frame or two).
inside = {i for i in base if all(i + d in base for d in (-2, -1, 1, 2))}
rows = {}
for kind, onset, enc, dec in calls:
    if kind == "none":
        continue
    caller, agent = voices(enc, dec)
    start, end = caller[0], caller[-1]
    if not any(start <= i < start + 10 for i in inside):
        print(f"{kind:9} at {onset} s: the greeting was quiet when the caller began (between sentences); not counted")
        continue
    # The agent falls silent: the first 200 ms without its voice from the caller's first word.
    stop = next(i for i in range(start, start + 500) if not any(i <= k < i + 10 for k in agent))
    went_on = (stop - start) * 20
    later = sorted(k for k in agent if k > stop)
    if kind == "knock":
        lost = sum(1 for i in inside if start <= i < start + 50 and i not in agent) * 20
        rows.setdefault(kind, []).append(lost)
        print(f"{kind:9} at {onset} s: {lost} ms of the greeting's voice missing in the second after it")
    elif kind == "continuer":
        gap = (later[0] - stop) * 20 if later else None
        rows.setdefault(kind, []).append(went_on)
        rows.setdefault("continuer gap", []).append(gap if gap is not None else 10**6)
        print(f"{kind:9} at {onset} s: the agent's voice went on {went_on} ms, then " + (f"it was silent {gap} ms and went on" if gap is not None else "it never went on"))
    else:
        relapse = any(stop < k <= end for k in agent)
        answer = next(((k - end) * 20 for k in later if k > end), None)
        rows.setdefault(kind, []).append(went_on)
        print(f"{kind:9} at {onset} s: the agent's voice went on {went_on} ms after the caller's first word" + ("; it spoke again while the caller went on" if relapse else "") + (f"; its answer {answer} ms after the caller's last word" if answer is not None else ""))
for kind, v in rows.items():
    v = sorted(v)
    print(f"{kind}: {len(v)} calls, median {statistics.median(v)} ms, max {v[-1]} ms")
PY
