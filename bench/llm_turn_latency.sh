#!/usr/bin/env bash
# Voice to voice with an `llm` node: a baresip softphone asks the 12 questions of
# bench/caller.sh; the agent's model is the in-repo fake of OpenAI's streaming chat completions
# (crates/fakes/examples/chat_server.rs) writing its answer at a given pace, by default the
# embedded 0.5B model's measured speed (../shared/SPEECH.md: first token 170 ms with the system
# prompt cached, 44.6 tokens/s, about one 7-character event every 35 ms). Prints each turn's
# split (agent_ms: the caller's words to the model's first sentence) and the medians.
# With `embedded` the real embedded model answers (llama-server and Qwen2.5-Coder-0.5B, which
# scripts/setup.sh installs; the tenant has no model of its own) as the agent
# crates/agent/agents/shop_assistant.yaml.
# SERVE_ARGS adds options to `parley serve` (e.g. "--ask-model-ahead false"); CALLER_VOICE and
# CALLER_SET choose the caller (bench/caller.sh); BENCH_LOG=FILE keeps the server's log.
# Usage: bench/llm_turn_latency.sh [FIRST_MS] [BETWEEN_MS] | bench/llm_turn_latency.sh embedded
set -euo pipefail
MODE=fake
[ "${1:-}" = embedded ] && MODE=embedded && shift
FIRST="${1:-170}"
BETWEEN="${2:-35}"
cd "$(dirname "$0")/.."
cargo build -q --release -p parley-server
W=$(mktemp -d)
SERVER=""; MODEL=""
trap 'kill $SERVER $MODEL 2>/dev/null || true; rm -rf "$W"' EXIT
if [ $MODE = fake ]; then
  cargo build -q --release -p parley-fakes --example chat_server
  ./target/release/examples/chat_server "$FIRST" "$BETWEEN" >"$W/model.url" &
  MODEL=$!
  until [ -s "$W/model.url" ]; do sleep 0.1; done
fi
SIP=127.0.0.1:25060; HTTP=127.0.0.1:28080
./target/release/parley serve --sip-listen $SIP --http-listen $HTTP --data-dir "$W/data" --egress-allow 127.0.0.0/8 ${SERVE_ARGS:-} >/dev/null 2>"$W/parley.log" &
SERVER=$!
until curl -sf "http://$HTTP/healthz" >/dev/null; do sleep 0.2; done
KEY=$(./target/release/parley admin create-key --data-dir "$W/data" --role platform-admin)
api() { curl -sf -X "$1" "http://$HTTP$2" -H "authorization: Bearer $KEY" -H 'content-type: application/json' -d "$3" >/dev/null; }
api POST /v1/tenants '{"id": "bench", "name": "Bench"}'
if [ $MODE = fake ]; then
  api PUT /v1/tenants/bench/agents/front '{"business": "Acme", "greeting": "Hello, this is Acme. How can I help?", "hours": "Monday to Friday, 9 am to 5 pm",
    "instructions": "You are the assistant of Acme. Answer questions about the opening hours and orders.",
    "flow": [{"type": "llm", "id": "chat", "goal": "Answer the caller.", "max_turns": 30, "exits": {"done": {"when": "the caller is done", "goto": "bye"}}},
             {"type": "end", "id": "bye"}]}'
else
  # The example agent made for a small model: the intent engine answers the hours (through the
  # flow), the model the order questions with the order tool.
  api PUT /v1/tenants/bench/agents/front "$(python3 -c 'import json, sys, yaml; a = yaml.safe_load(open(sys.argv[1])); a.pop("name"); print(json.dumps(a))' crates/agent/agents/shop_assistant.yaml)"
fi
api POST /v1/tenants/bench/numbers '{"number": "+15550123000", "agent": "front"}'
[ $MODE = fake ] && api POST /v1/tenants/bench/integrations "{\"kind\": \"openai\", \"name\": \"model\", \"config\": {\"api_base\": \"$(cat "$W/model.url")\", \"chat_model\": \"bench\"}, \"secret\": \"test-key-parley\"}"
api PUT /v1/tenants/bench/data-policy '{"recording_days": 0, "transcript_days": 0, "call_metadata_days": 365, "operational_log_days": 30, "redact_pii": true, "allowed_providers": ["embedded", "openai"]}'
. bench/caller.sh
caller_wav "$W"
DUR=$(soxi -D "$W/caller.wav" | cut -d. -f1)
baresip_config "$W/bs" 25072 "$W/caller.wav"
baresip -f "$W/bs" -e "/dial sip:+15550123000@$SIP" -t $((DUR + 5)) </dev/null >/dev/null 2>&1 || true
turn_summary "$W/parley.log" turns
[ -z "${BENCH_LOG:-}" ] || cp "$W/parley.log" "$BENCH_LOG"
