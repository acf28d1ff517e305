"""Word error rate, real-time factor and memory of the embedded recognizer on a dozen phrases.

Each phrase is spoken by espeak-ng, converted to 8 kHz telephone band with sox, and sent through
the same worker code the server runs (crates/speech/worker/whisper_worker.py).
Usage: ~/.local/share/parley/speech/venv/bin/python bench/asr_wer.py
"""
import os, re, resource, subprocess, sys, tempfile, time, wave
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "crates", "speech", "worker"))
import whisper_worker as ww
from faster_whisper import WhisperModel

PHRASES = [
    "What are your opening hours?", "I would like to speak to a person.", "Where is my order?",
    "My order number is one zero zero four.", "Can you check order one zero zero seven?",
    "Are you open on Sunday?", "No, that's all. Goodbye.", "I want to return a jacket.",
    "Please put me through to the manager.", "When will my package arrive?",
    "Yes please, that would be great.", "Thank you very much for your help.",
]
WORDS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven", "8": "eight", "9": "nine"}

def norm(t):
    t = re.sub(r"(?<=\d)[,.](?=\d)", "", t.lower())
    t = re.sub(r"\d", lambda m: " " + WORDS[m.group()] + " ", t)
    return re.sub(r"[^a-z' ]", " ", t).split()

def wer(ref, hyp):
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)]

speech_dir = os.environ.get("PARLEY_SPEECH_DIR", os.path.expanduser("~/.local/share/parley/speech"))
model = WhisperModel(os.path.join(speech_dir, "whisper-base"), device="cpu", compute_type="int8", cpu_threads=2)
errors = words = 0
audio_s = compute_s = 0.0
with tempfile.TemporaryDirectory() as tmp:
    for p in PHRASES:
        raw, tel = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "tel.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, p], check=True)
        subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", tel], check=True)
        w = wave.open(tel)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        t = time.perf_counter()
        segs, _ = model.transcribe(ww.upsample_8k_to_16k(pcm).astype(np.float32), language="en", beam_size=1,
                                   temperature=0.0, without_timestamps=True, condition_on_previous_text=False,
                                   vad_filter=False, max_new_tokens=96)
        hyp = " ".join(s.text.strip() for s in segs)
        compute_s += time.perf_counter() - t
        audio_s += len(pcm) / 8000
        e = wer(norm(p), norm(hyp))
        errors += e; words += len(norm(p))
        print(f"{e}/{len(norm(p))}  {p!r} -> {hyp!r}")
print(f"WER {errors / words:.1%} ({errors}/{words} words), RTF {compute_s / audio_s:.3f}, "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
