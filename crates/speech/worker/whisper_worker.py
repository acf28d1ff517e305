"""Parley's Whisper worker: transcribes utterances sent over stdin, answers over stdout.

Protocol (all integers little-endian u32):
  worker -> parley : len, b"ready"                       once the model is loaded
  parley -> worker : n, n samples of 8 kHz mono int16    one utterance
  worker -> parley : len, UTF-8 text                     its transcript
Audio and text live only in this process's memory: nothing is written to disk or logged.
"""
import os
import struct
import sys

import numpy as np
from faster_whisper import WhisperModel


def read_exact(stream, n):
    buf = b""
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            sys.exit(0)
        buf += chunk
    return buf


def send(out, data):
    out.write(struct.pack("<I", len(data)) + data)
    out.flush()


def upsample_8k_to_16k(pcm):
    """Band-limited 2x upsampling by zero-padding the spectrum."""
    n = len(pcm)
    spectrum = np.fft.rfft(pcm)
    padded = np.zeros(n + 1, dtype=complex)
    padded[: len(spectrum)] = spectrum
    return np.fft.irfft(padded, 2 * n) * 2.0


def main():
    model_dir = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    send(out, b"ready")
    while True:
        (n,) = struct.unpack("<I", read_exact(inp, 4))
        pcm = np.frombuffer(read_exact(inp, 2 * n), dtype="<i2").astype(np.float32) / 32768.0
        text = ""
        if n > 0:
            audio = upsample_8k_to_16k(pcm).astype(np.float32)
            segments, _ = model.transcribe(
                audio,
                language="en",
                beam_size=1,
                temperature=0.0,
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
                max_new_tokens=96,
            )
            text = " ".join(s.text.strip() for s in segments).strip()
        send(out, text.encode("utf-8"))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
