#!/usr/bin/env bash
# Concurrent calls with media both ways: sipp places CALLS calls at RATE per second, each held
# HOLD seconds (bench/uac_media_to_sink.xml), all offering the port of rtp_sink
# (crates/media/examples/rtp_sink.rs), which answers every packet the server sends and measures
# how late the server's packets arrive against each stream's 20 ms schedule while all calls are
# up. Also prints the server's memory per established call: resident memory with all calls up,
# minus before, divided by the calls (the speech models, loaded at start, are in the baseline;
# greetings come from the shared prompt cache). The server also counts, on its own clock, packets sent more than 5 ms
# after their slot (/metrics). Usage: bench/concurrent_calls.sh [CALLS] [RATE] [HOLD]
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${1:-500}; RATE=${2:-50}; HOLD=${3:-40}
cargo build -q --release -p parley-server
cargo build -q --release -p parley-media --example rtp_sink
W=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; rm -rf "$W"' EXIT
SIP=127.0.0.1:27060; HTTP=127.0.0.1:28091; SINK=27200
./target/release/parley serve --sip-listen $SIP --http-listen $HTTP --data-dir "$W/data" \
  --sip-rate-limit 0 --max-calls 20000 >/dev/null 2>"$W/parley.log" &
SERVER=$!
until curl -sf "http://$HTTP/healthz" >/dev/null; do sleep 0.2; done
# Warm the prompt cache with one call, then take the baseline.
sipp -sf bench/uac_media_to_sink.xml $SIP -s demo -i 127.0.0.1 -p 27070 -set sink 9 -m 1 -d 2000 -nostdin -timeout 30 >/dev/null 2>&1 || true
sleep 1
BASE=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status)
RAMP=$(( (CALLS + RATE - 1) / RATE ))
./target/release/examples/rtp_sink $SINK $((RAMP + HOLD)) $((RAMP + 3)) > "$W/sink.txt" &
SINKPID=$!
sipp -sf bench/uac_media_to_sink.xml $SIP -s demo -i 127.0.0.1 -p 27070 -set sink $SINK \
  -r "$RATE" -m "$CALLS" -l "$CALLS" -d $((HOLD * 1000)) -max_socket 10000 -nostdin -timeout $((RAMP + HOLD + 60)) > "$W/sipp.txt" 2>&1 &
SIPP=$!
sleep $((RAMP + HOLD / 2))
ACTIVE=$(curl -sf "http://$HTTP/metrics" | awk '/^parley_calls_active/ {print $2}')
RSS=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status)
T0=$(awk '{print $14+$15}' /proc/$SERVER/stat); sleep 10; T1=$(awk '{print $14+$15}' /proc/$SERVER/stat)
wait $SINKPID
SENT=$(curl -sf "http://$HTTP/metrics" | awk '/^parley_rtp_packets_sent_total/ {print $2}')
LATE=$(curl -sf "http://$HTTP/metrics" | awk '/^parley_rtp_packets_late_total/ {print $2}')
wait $SIPP && SIPP_OK=yes || SIPP_OK=no
OK=$(awk -F'|' '/Successful call/ {gsub(/ /,"",$3); v=$3} END {print v+0}' "$W/sipp.txt")
FAIL=$(awk -F'|' '/Failed call/ {gsub(/ /,"",$3); v=$3} END {print v+0}' "$W/sipp.txt")
echo "calls $CALLS at $RATE/s held ${HOLD}s: successful $OK failed $FAIL (sipp exit ok: $SIPP_OK)"
echo "active calls at mid-hold $ACTIVE; server CPU $(( (T1 - T0) * 100 / $(getconf CLK_TCK) / 10 ))% of one core"
echo "memory: baseline ${BASE} kB, with calls up ${RSS} kB, per call $(( (RSS - BASE) / (ACTIVE > 0 ? ACTIVE : 1) )) kB"
echo "server RTP as sent (its own clock, whole run): $LATE of $SENT packets more than 5 ms after their slot ($(awk -v l="$LATE" -v s="$SENT" 'BEGIN {printf "%.3f", 100 * l / (s > 0 ? s : 1)}')%)"
echo "server RTP at the sink (arrival vs each stream's schedule, during the hold): $(cat "$W/sink.txt")"
