#!/usr/bin/env python3
# The answer after a tool result with the embedded model: replays the requests a call of the
# shop assistant makes (warm-up, the caller's question, the model's find_order call, the tool's
# result) against llama-server (started here, as `parley serve` starts it) and prints how many
# prompt tokens it had to read again for the answer and the time to its first token.
# old: the functions left out of the system message after a tool result (before session 17);
# new: the same system message; json: and the model's reply sent back as it wrote it (today).
# Usage: python3 bench/llm_prompt_cache.py old|new|json   (needs scripts/setup.sh)
import json, os, subprocess, sys, time, urllib.request
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLM = os.environ.get("PARLEY_LLM_DIR", os.path.expanduser("~/.local/share/parley/llm"))
mode = sys.argv[1]; question = "Where is order one zero zero two?"
port = 18999
server = subprocess.Popen([f"{LLM}/b11434-noamx/llama-server", "--model", f"{LLM}/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "--host", "127.0.0.1", "--port", str(port),
    "--threads", "2", "--parallel", "2", "--ctx-size", "8192", "--jinja", "--no-webui", "--offline", "--cache-ram", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(600):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health"); break
    except Exception:
        time.sleep(0.1)
RULES = open(f"{ROOT}/crates/agent/src/llm/prompt.rs").read().split('pub const RULES: &str = "')[1].split('";')[0]
base = ("You are the phone assistant of Acme Outdoor.\nYou are Sam, the assistant of Acme Outdoor, a shop for camping and hiking gear. Help callers with their orders: where an order is, what is in it, its tracking number. For anything else about the shop, say what you know from these instructions and offer a person.\n"
 "Your task in this part of the call: Answer the caller's questions about their order, by its number or by their phone number.\nOpening hours: We are open Monday to Friday, from 9 a.m. to 6 p.m.\n"
 "When the caller asks for a person, a human or the front desk, call the function person (after saying a short sentence if one fits).\nWhen the caller wants to leave a message or be called back, call the function message (after saying a short sentence if one fits).\nWhen the caller has no more questions or says goodbye, call the function done (after saying a short sentence if one fits).\n" + RULES)
say = {"name": "say", "description": "Say something to the caller.", "parameters": {"type": "object", "properties": {"text": {"type": "string", "description": "What to say: one to three short spoken sentences"}}, "required": ["text"], "additionalProperties": False}}
fo = {"name": "find_order", "description": "Finds an order by its number.", "parameters": {"type": "object", "properties": {"number": {"type": "string", "description": "the order number"}}, "additionalProperties": False}}
ex = [{"name": n, "description": "Call when ...", "parameters": {"type": "object", "properties": {}, "additionalProperties": False}} for n in ("person", "message", "done")]
FORMAT = open(f"{ROOT}/crates/agent/src/llm/json_reply.rs").read().split('const FORMAT: &str = "')[1].split('";\n')[0].replace('\\"', '"')
def system(fns): return base + "\n\n# Functions\n" + "\n".join(json.dumps(f, separators=(",", ":")) for f in fns) + "\n\n" + FORMAT
def schema(fns): return {"oneOf": [{"type": "object", "properties": {"name": {"const": f["name"]}, "arguments": f["parameters"]}, "required": ["name", "arguments"], "additionalProperties": False} for f in fns]}
def ask(messages, fns, max_tokens):
    body = {"model": "embedded", "messages": messages, "stream": True, "max_tokens": max_tokens, "temperature": 0.0, "cache_prompt": True, "response_format": {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema(fns)}}}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
    t = time.time(); first = None; text = ""; timings = None
    with urllib.request.urlopen(req) as r:
        for line in r:
            line = line.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]": continue
            d = json.loads(line[6:])
            for c in d.get("choices", []):
                piece = (c.get("delta") or {}).get("content")
                if piece:
                    if first is None: first = time.time() - t
                    text += piece
            timings = d.get("timings", timings)
    return text, first, timings
all_fns = [say, fo] + ex
msgs = [{"role": "system", "content": system(all_fns)}]
ask(msgs, all_fns, 1)
msgs.append({"role": "user", "content": question})
text, first, tm = ask(msgs, all_fns, 120)
print("choice:", text, f"first token {first*1000:.0f} ms, prompt read {tm and tm.get('prompt_n')} cached {tm and tm.get('cache_n')}")
if mode == "json":
    msgs.append({"role": "assistant", "content": text})
else:
    msgs.append({"role": "assistant", "content": None, "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "find_order", "arguments": "{\"number\":\"1002\"}"}}]})
msgs.append({"role": "tool", "tool_call_id": "call_0", "content": json.dumps({"outcome": "found", "data": {"number": 1002, "status": "shipped", "detail": "shipped on November 12 and should arrive by November 15"}})})
if mode == "old":
    msgs[0] = {"role": "system", "content": system([say])}
text, first, tm = ask(msgs, [say], 120)
print(f"{mode}: after the tool result: first token {first*1000:.0f} ms, prompt tokens read {tm.get('prompt_n')}, cached {tm.get('cache_n')}, answer {text}")
server.kill()
