#!/usr/bin/python3
"""Builds the small torch-exported models the ORT parity tests and benchmarks use.

Random weights, fixed seed; run with Debian's python3-torch (1.13):
    /usr/bin/python3 models/parity/make_models.py [--bench]

Writes to models/parity/:
  resnet_small.onnx  ResNet-style CNN: conv-bn-relu stem, maxpool, 3 stages of two
                     residual basic blocks (the second and third stage downsample
                     with a strided 1x1 projection), a depthwise-separable block,
                     global average pool, Linear. Input float32[batch,3,32,32], opset 13.
  bert_tiny.onnx     BERT-style encoder: token/position/segment embeddings (Gather),
                     LayerNorm, 2 layers of multi-head self-attention written the way
                     HF BERT is (Linear, view, permute, matmul / sqrt(d) + mask, softmax),
                     GELU(erf) FFN, pooler tanh. Inputs int64[batch,seq] input_ids,
                     attention_mask, token_type_ids. Opset 14.
  lstm_small.onnx    Embedding, 2-layer bidirectional LSTM, Linear over the last step.
                     Input int64[batch,seq]. Opset 9.
With --bench, also writes larger models to bench/out/ (not checked in):
  mobilenet_v2.onnx  torchvision-style MobileNetV2 at 224x224 (random weights).
  bert_base.onnx     BERT-base-sized encoder (12 layers, hidden 768, 12 heads).
  bert_tiny_raw.onnx bert_tiny exported with torch's constant folding off and static
                     shapes, for the clean-up benchmark.
"""
import argparse
import math
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class ResNetSmall(nn.Module):
    def __init__(self, width=16, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        layers, c = [], width
        for i, cout in enumerate([width, width * 2, width * 4]):
            layers += [BasicBlock(c, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
            c = cout
        self.layers = nn.Sequential(*layers)
        self.dw = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU6(),
                                nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = self.dw(self.layers(self.pool(self.stem(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class SelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.d = heads, hidden // heads
        self.q, self.k, self.v = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.d).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d) + mask
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3)
        ctx = ctx.reshape(x.shape[0], x.shape[1], -1)
        return self.norm(x + self.out(ctx))


class Layer(nn.Module):
    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.attn = SelfAttention(hidden, heads)
        self.up, self.down = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, mask):
        x = self.attn(x, mask)
        return self.norm(x + self.down(nn.functional.gelu(self.up(x))))


class Bert(nn.Module):
    def __init__(self, vocab=1000, hidden=64, layers=2, heads=4, ffn=256, max_pos=512):
        super().__init__()
        self.tok, self.pos, self.seg = nn.Embedding(vocab, hidden), nn.Embedding(max_pos, hidden), nn.Embedding(2, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList([Layer(hidden, heads, ffn) for _ in range(layers)])
        self.pool = nn.Linear(hidden, hidden)

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.norm(self.tok(input_ids) + self.pos(positions) + self.seg(token_type_ids))
        mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for layer in self.layers:
            x = layer(x, mask)
        return x, torch.tanh(self.pool(x[:, 0]))


class LstmClassifier(nn.Module):
    def __init__(self, vocab=500, emb=32, hidden=48, classes=5):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, tokens):
        out, _ = self.lstm(self.emb(tokens))
        return self.fc(out[:, -1])


def randomize_bn(model):
    """Give BatchNorm non-trivial statistics so folding and parity tests see real values."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def export(model, args, path, names, outputs, axes, opset, fold=True):
    model.eval()
    torch.onnx.export(model, args, path, input_names=names, output_names=outputs, dynamic_axes=axes,
                      opset_version=opset, do_constant_folding=fold)
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    resnet = ResNetSmall()
    randomize_bn(resnet)
    export(resnet, (torch.randn(1, 3, 32, 32),), os.path.join(HERE, "resnet_small.onnx"), ["input"], ["logits"],
           {"input": {0: "batch"}, "logits": {0: "batch"}}, 13)
    ids = torch.randint(0, 1000, (1, 16))
    bert_axes = {n: {0: "batch", 1: "sequence"} for n in ["input_ids", "attention_mask", "token_type_ids", "hidden"]}
    bert_axes["pooled"] = {0: "batch"}
    export(Bert(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), os.path.join(HERE, "bert_tiny.onnx"),
           ["input_ids", "attention_mask", "token_type_ids"], ["hidden", "pooled"], bert_axes, 14)
    export(LstmClassifier(), (torch.randint(0, 500, (1, 12)),), os.path.join(HERE, "lstm_small.onnx"), ["tokens"],
           ["logits"], {"tokens": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}, 9)
    if args.bench:
        out = os.path.join(HERE, "..", "..", "bench", "out")
        os.makedirs(out, exist_ok=True)
        try:
            import torchvision
            mobilenet = torchvision.models.mobilenet_v2(weights=None)
        except Exception as e:  # torchvision missing: a faithful local copy of the architecture is not worth it
            raise SystemExit(f"--bench needs torchvision (Debian python3-torchvision): {e}")
        randomize_bn(mobilenet)
        export(mobilenet, (torch.randn(1, 3, 224, 224),), os.path.join(out, "mobilenet_v2.onnx"), ["input"],
               ["logits"], None, 13)
        ids = torch.randint(0, 30522, (1, 128))
        export(Bert(vocab=30522, hidden=768, layers=12, heads=12, ffn=3072), (ids, torch.ones_like(ids), torch.zeros_like(ids)),
               os.path.join(out, "bert_base.onnx"), ["input_ids", "attention_mask", "token_type_ids"],
               ["hidden", "pooled"], None, 14)
        # A raw export (torch's own folding off, static shapes): what clean-up tools are for.
        # (torch 1.13 folds BatchNorm into Conv in eval mode either way, so CNNs gain nothing.)
        ids = torch.randint(0, 1000, (1, 16))
        export(Bert(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), os.path.join(out, "bert_tiny_raw.onnx"),
               ["input_ids", "attention_mask", "token_type_ids"], ["hidden", "pooled"], None, 14, fold=False)


if __name__ == "__main__":
    main()
