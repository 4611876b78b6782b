#!/usr/bin/env python3
"""Reference sentence vectors for the embedding parity test.

An independent implementation of the all-MiniLM-L6-v2 sentence encoder in
plain numpy (BERT forward pass in float64, mean pooling over the real tokens,
L2 normalisation), so that the Rust encoder is checked against arithmetic that
shares none of its code. Each sentence is encoded on its own, without padding.

    pip install numpy tokenizers safetensors
    python3 scripts/reference_embeddings.py MODEL_DIR > crates/embed/tests/data/reference_vectors.json

MODEL_DIR holds model.safetensors, tokenizer.json and config.json.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

MAX_TOKENS = 256

SENTENCES = [
    "How do I reset my password?",
    "I still haven't received my new card, it's been two weeks",
    "¿Puedo hablar con una persona?",
    "Where is my parcel?? it said delivered but nothing here",
    "Can I return a sofa after 30 days if it has a stain on it?",
    "ok",
    "Le remboursement n'apparaît toujours pas sur mon relevé.",
    "refund " * 300,
]

erf = np.vectorize(math.erf)


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class Encoder:
    def __init__(self, model_dir: Path):
        raw = load_file(str(model_dir / "model.safetensors"))
        self.w = {k: v.astype(np.float64) for k, v in raw.items()}
        self.config = json.loads((model_dir / "config.json").read_text())
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def encode(self, sentence: str) -> np.ndarray:
        c, w = self.config, self.w
        eps = c["layer_norm_eps"]
        heads = c["num_attention_heads"]
        ids = np.array(self.tokenizer.encode(sentence).ids)
        n = len(ids)

        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)

        for layer in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{layer}"
            split = lambda t: t.reshape(n, heads, -1).transpose(1, 0, 2)
            q = split(self.linear(x, f"{p}.attention.self.query"))
            k = split(self.linear(x, f"{p}.attention.self.key"))
            v = split(self.linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(q.shape[-1])
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attention = scores / scores.sum(-1, keepdims=True)
            context = (attention @ v).transpose(1, 0, 2).reshape(n, -1)
            attended = self.linear(context, f"{p}.attention.output.dense")
            x = layer_norm(
                x + attended,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                eps,
            )
            hidden = gelu(self.linear(x, f"{p}.intermediate.dense"))
            out = self.linear(hidden, f"{p}.output.dense")
            x = layer_norm(
                x + out, w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], eps
            )

        pooled = x.mean(0)
        return pooled / np.linalg.norm(pooled)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    encoder = Encoder(Path(sys.argv[1]))
    vectors = [encoder.encode(s) for s in SENTENCES]
    json.dump(
        {
            "model": "all-MiniLM-L6-v2",
            "sentences": SENTENCES,
            "vectors": [[round(float(v), 7) for v in vector] for vector in vectors],
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
