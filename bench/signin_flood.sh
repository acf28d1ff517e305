#!/usr/bin/env bash
# Sign-in flood: what wrong passwords cost the server, in memory and in the latency of
# everyone else's requests.
#  1. 128 parallel wrong sign-ins, each from its own loopback address (127.0.1.1 to
#     127.0.1.128) and for its own account, so the per-address and per-account throttle lets
#     every one through to argon2id: resident memory before, at its highest, and after.
#  2. 16 clients signing in wrongly in a loop (each from its own address, throttled once past
#     its free attempts) while one client reads GET /v1/tenants/t with an API key: the p50 and
#     p99 of those reads, against the same reads with no flood.
# Usage: bench/signin_flood.sh   (release build; FLOOD_SECONDS, default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
FLOOD_SECONDS=${FLOOD_SECONDS:-20}
cargo build -q --release -p parley-server
W=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
SIP=127.0.0.1:26160; HTTP=127.0.0.1:28190; BASE=http://$HTTP
./target/release/parley serve --sip-listen $SIP --http-listen $HTTP --data-dir "$W/data" >/dev/null 2>"$W/parley.log" &
SERVER=$!
until curl -sf "$BASE/healthz" >/dev/null; do sleep 0.2; done
OP=$(./target/release/parley admin create-key --role platform-admin --data-dir "$W/data" 2>/dev/null)
curl -sf -o /dev/null -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' -d '{"id":"t","name":"T"}' "$BASE/v1/tenants"
# One real user, so wrong passwords are checked against a real hash.
INV=$(curl -sf -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' -d '{"email":"ann@example.com","role":"viewer"}' "$BASE/v1/tenants/t/invitations" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -sf -o /dev/null -H 'Content-Type: application/json' -d "{\"token\":\"$INV\",\"password\":\"ann's long passphrase\"}" "$BASE/v1/invitations/accept"
rss() { awk '/VmRSS/ {print $2}' /proc/$SERVER/status; }
hwm() { awk '/VmHWM/ {print $2}' /proc/$SERVER/status; }

sleep 1
IDLE=$(rss)
seq 1 128 | xargs -P 128 -I{} curl -s -o /dev/null -w '%{http_code}\n' --interface 127.0.1.{} \
  -H 'Content-Type: application/json' -d '{"tenant":"t","email":"user{}@example.com","password":"a wrong guess"}' "$BASE/v1/sessions" > "$W/codes"
PEAK=$(hwm)
sleep 2
AFTER=$(rss)
echo "128 parallel wrong sign-ins: $(sort "$W/codes" | uniq -c | tr '\n' ' ')"
echo "resident memory: idle $((IDLE / 1024)) MB, highest $((PEAK / 1024)) MB, after $((AFTER / 1024)) MB (after - idle: $(((AFTER - IDLE) / 1024)) MB)"

reads() {  # N reads; prints each total time in ms
  for _ in $(seq 1 "$1"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $OP" "$BASE/v1/tenants/t"
  done | awk '{printf "%.2f\n", $1 * 1000}' | sort -n
}
pct() { awk -v p="$1" '{v[NR]=$1} END {i=int(NR*p); if (i<1) i=1; print v[i]}'; }
reads 200 > "$W/quiet"
for c in $(seq 1 16); do
  ( end=$((SECONDS + FLOOD_SECONDS)); n=0
    while [ $SECONDS -lt $end ]; do
      n=$((n + 1))
      curl -s -o /dev/null --interface 127.0.2.$c -H 'Content-Type: application/json' \
        -d "{\"tenant\":\"t\",\"email\":\"flood$c-$n@example.com\",\"password\":\"a wrong guess\"}" "$BASE/v1/sessions"
    done ) &
done
sleep 1
reads 200 > "$W/flood"
wait $(jobs -p | grep -v "^$SERVER$") 2>/dev/null || true
echo "authenticated reads, no flood:      p50 $(pct 0.5 < "$W/quiet") ms, p99 $(pct 0.99 < "$W/quiet") ms"
echo "authenticated reads, 16-client flood: p50 $(pct 0.5 < "$W/flood") ms, p99 $(pct 0.99 < "$W/flood") ms"
