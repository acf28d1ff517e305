#!/usr/bin/env bash
# Call rate: sipp's built-in `uac` scenario (INVITE, 100/180/200, ACK, a hold of HOLD_MS, BYE)
# calls the demo agent at each rate for DURATION seconds; a rate passes when every call
# succeeds. The agent really answers: a call task per call, its RTP socket, the greeting
# (synthesized once, then from the prompt cache) sent as RTP to sipp's media port, the call
# record and usage written to SQLite. The rate limit is off (sipp is one source address).
# "server CPU" is the server's CPU time over the run, in % of one core (the machine has two;
# sipp uses the rest). Usage: bench/sipp_cps.sh [RATE...]   (default: 100 200 300 400 500 600 800 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=("$@"); [ ${#RATES[@]} -gt 0 ] || RATES=(100 200 300 400 500 600 800 1000)
DURATION=${DURATION:-10}; HOLD_MS=${HOLD_MS:-1000}
cargo build -q --release -p parley-server
W=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; rm -rf "$W"' EXIT
SIP=127.0.0.1:26060; HTTP=127.0.0.1:28090
./target/release/parley serve --sip-listen $SIP --http-listen $HTTP --data-dir "$W/data" \
  --sip-rate-limit 0 --max-calls 20000 >/dev/null 2>"$W/parley.log" &
SERVER=$!
until curl -sf "http://$HTTP/healthz" >/dev/null; do sleep 0.2; done
# Warm the prompt cache with one call.
sipp -sn uac $SIP -s demo -i 127.0.0.1 -p 26070 -mp 26100 -m 1 -d 3000 -nostdin -timeout 30 >/dev/null 2>&1 || true
printf "%-6s %-9s %-8s %-10s %-8s %-12s %-10s\n" rate achieved calls successful failed "server CPU" "max RSS"
for R in "${RATES[@]}"; do
  N=$((R * DURATION))
  T0=$(awk '{print $14+$15}' /proc/$SERVER/stat)
  OUT=$(sipp -sn uac $SIP -s demo -i 127.0.0.1 -p 26070 -mp 26100 -r "$R" -m "$N" -d "$HOLD_MS" \
        -l $((R * 5)) -max_socket 10000 -timeout $((DURATION * 3 + 30)) -nostdin 2>&1 || true)
  T1=$(awk '{print $14+$15}' /proc/$SERVER/stat)
  OK=$(echo "$OUT" | awk -F'|' '/Successful call/ {gsub(/ /,"",$3); v=$3} END {print v+0}')
  FAIL=$(echo "$OUT" | awk -F'|' '/Failed call/ {gsub(/ /,"",$3); v=$3} END {print v+0}')
  # sipp's cumulative call rate: what it really placed, which is less than asked when it lags.
  CPS=$(echo "$OUT" | awk -F'|' '/Call Rate/ {gsub(/ |cps/,"",$3); v=$3} END {print v+0}')
  TICKS=$(getconf CLK_TCK)
  CPU=$(awk -v a="$T0" -v b="$T1" -v t="$TICKS" -v d="$DURATION" 'BEGIN {printf "%.0f%%", 100 * (b - a) / t / (d + 1)}')
  RSS=$(awk '/VmHWM/ {print $2 " kB"}' /proc/$SERVER/status)
  printf "%-6s %-9s %-8s %-10s %-8s %-12s %-10s\n" "$R" "$CPS" "$N" "$OK" "$FAIL" "$CPU" "$RSS"
  sleep 3
done
