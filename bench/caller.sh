# Shared by the voice-to-voice benches (source it): the caller's audio and the summary of the
# server's `turn latency` and `call ended` log lines.

# serve DIR: the release server on 127.0.0.1:25060 (SIP) and 127.0.0.1:28080 (HTTP), its data
# and its log (DIR/parley.log) in DIR, SERVE_ARGS added; sets SIP, HTTP and SERVER (its pid)
# and returns once it answers /healthz.
serve() {
  SIP=127.0.0.1:25060; HTTP=127.0.0.1:28080
  ./target/release/parley serve --sip-listen $SIP --http-listen $HTTP --data-dir "$1/data" ${SERVE_ARGS:-} >/dev/null 2>"$1/parley.log" &
  SERVER=$!
  until curl -sf "http://$HTTP/healthz" >/dev/null; do sleep 0.2; done
}

# caller_wav DIR: writes DIR/caller.wav (8 kHz, 16 bit): 3 s of silence, then 12 questions,
# each followed by 12 s of silence, in the voice CALLER_VOICE names: espeak (espeak-ng at 140
# words a minute, the default; Whisper tiny.en mishears most of its digits: "where we order 1
# near 1 near 02"), joe (Piper's man's voice, nearer a person on the phone) or heart (hibari).
# CALLER_SET=statements says the same requests as statements ("I would like to know your
# opening hours."); CALLER_SET=answers says one-word answers instead.
caller_wav() {
  local w="$1" voice="${CALLER_VOICE:-espeak}"
  [ "$voice" = espeak ] || cargo build -q --release -p parley-speech --example speak
  sox -n -r 8000 -c 1 -b 16 "$w/s3.wav" trim 0 3
  sox -n -r 8000 -c 1 -b 16 "$w/s12.wav" trim 0 12
  local parts=("$w/s3.wav") i=0
  local questions=("What are your opening hours?" "Where is order one zero zero two?" "When are you open on Saturday?"
    "Check order one zero zero seven please." "What time do you close?" "Status of order one zero zero nine."
    "Are you open on Sunday?" "Order number one zero zero one." "What are your hours?" "Where is order one zero zero four?"
    "When do you open?" "Order one zero zero six please.")
  # CALLER_SET=statements: the same requests said as statements, which the words alone do not
  # end (a full stop, no question): the end-of-turn model's case.
  [ "${CALLER_SET:-questions}" = statements ] && questions=("I would like to know your opening hours." "I am calling about order one zero zero two."
    "Tell me when you are open on Saturday." "I want to check order one zero zero seven." "I would like to know when you close."
    "I need the status of order one zero zero nine." "I wonder if you are open on Sunday." "I am calling about order one zero zero one."
    "Please tell me your hours." "I have a question about order one zero zero four." "I want to know when you open."
    "I would like an update on order one zero zero six.")
  # CALLER_SET=answers: one-word answers ("Yes.", "Okay."), the shortest turns a caller takes.
  # At the demo's menu each gets a reply and the call goes on: "yes" asks what they want, the
  # others are not understood and the menu is offered again (a "yes" between them keeps the
  # agent from giving up on the call after three in a row).
  [ "${CALLER_SET:-questions}" = answers ] && questions=("Yes." "Okay." "Yes." "Right." "Yes." "Sure."
    "Yes." "Alright." "Yes." "Perfect." "Yes." "Hello?")
  for q in "${questions[@]}"; do
    if [ "$voice" = espeak ]; then
      espeak-ng -v en-us -s 140 -w "$w/r.wav" "$q"
      sox "$w/r.wav" -r 8000 -c 1 -b 16 "$w/q$i.wav"
    else
      ./target/release/examples/speak "$voice" "$w/q$i.wav" "$q"
    fi
    parts+=("$w/q$i.wav" "$w/s12.wav")
    i=$((i + 1))
  done
  sox "${parts[@]}" "$w/caller.wav"
}

# baresip_config DIR PORT WAV [USER]: a baresip configuration in DIR that plays WAV as the caller (G.711,
# no sound card) from 127.0.0.1:PORT, with the account USER@ (default bench) on that port.
baresip_config() {
  mkdir -p "$1"
  cat > "$1/config" <<CFG
sip_listen 127.0.0.1:$2
net_interface 127.0.0.1
audio_source aufile,$3
audio_player aufile,/dev/null
audio_alert aufile,/dev/null
module_path /usr/lib/baresip/modules
module stdio.so
module g711.so
module aufile.so
module account.so
module menu.so
CFG
  echo "<sip:${4:-bench}@127.0.0.1:$2>;auth_pass=none" > "$1/accounts"
}

# turn_summary LOG [LABEL]: each turn's split (with LABEL=turns), the medians and p90s, and how
# the calls ended.
turn_summary() {
  python3 - "$1" "${2:-}" <<'PY'
import json, statistics, sys
lines = [json.loads(l)["fields"] for l in open(sys.argv[1]) if '"turn latency"' in l or '"call ended"' in l]
rows = [l for l in lines if "eot_ms" in l]
keys = [k for k in ["eot_ms", "asked_ms", "heard_ms", "asr_ms", "agent_ms", "tts_ms", "total_ms", "answer_ms"] if all(k in r for r in rows)]
if sys.argv[2] == "turns":
    for r in rows: print(" ".join(f"{k}={r[k]}" for k in keys))
if rows:
    print(f"server side, turns={len(rows)} median: " + " ".join(f"{k}={statistics.median(r[k] for r in rows)}" for k in keys))
if len(rows) >= 2:
    p90 = lambda k: statistics.quantiles([r[k] for r in rows], n=10, method="inclusive")[8]
    print("server side p90: " + " ".join(f"{k}={p90(k):.0f}" for k in keys))
# Turns whose first audio was a filler ("One moment.") said while a tool or the model worked:
# answer_ms is when the answer itself was first heard (absent: it never played).
fillers = [r for r in rows if r.get("answer_ms") != r["total_ms"]]
if fillers:
    answered = [r["answer_ms"] for r in fillers if "answer_ms" in r]
    print(f"{len(fillers)} turns began with a filler; their answer's first audio, median: {statistics.median(answered) if answered else 'none played'} ms ({len(answered)} played)")
ends = [l for l in lines if "reason" in l]
print("calls ended: " + ", ".join(sorted(f"{e['reason']}/{e['outcome']} after {e['turns']} turns" for e in ends)))
PY
}
