"""Structural rules of a target profile, checked on a written model with Python onnx
(independently of onnxpress's own deployability check).

Usage: python targets_check.py MODEL RULE...
  acts=int8|uint8      every QuantizeLinear produces this type
  weights=int8         every weight DequantizeLinear (constant input, not int32) reads this type
  act-zp=0             every QuantizeLinear zero point is 0
  weight-zp=0          every weight zero point is 0
  axis=output          per-channel weight scales run along output channels (Conv 0,
                       ConvTranspose 1, Gemm transB ? 0 : 1, MatMul last)
  2:4                  Conv/Gemm/MatMul weights: every 4 consecutive input channels
                       (the reduction dim) of each output channel hold >= 2 zeros
  no-qoperator         no QLinear*/ConvInteger/MatMulInteger node
Exits 1 naming the first node that breaks a rule.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

TYPES = {onnx.TensorProto.INT8: "int8", onnx.TensorProto.UINT8: "uint8", onnx.TensorProto.INT32: "int32"}


def main():
    model = onnx.load(sys.argv[1])
    rules = sys.argv[2:]
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    producers = {o: n for n in graph.node for o in n.output}
    consumers = {}
    for n in graph.node:
        for i, x in enumerate(n.input):
            consumers.setdefault(x, []).append((n, i))

    def fail(node, why):
        sys.exit(f"{node.op_type} '{node.name or node.output[0]}': {why}")

    def attr(node, name, default):
        for a in node.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    quantized = 0
    for n in graph.node:
        if n.op_type in ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger") and "no-qoperator" in rules:
            fail(n, "QOperator op")
        if n.op_type == "QuantizeLinear":
            quantized += 1
            zp = consts.get(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            kind = "uint8" if zp is None else str(zp.dtype)
            for rule in rules:
                if rule.startswith("acts=") and kind != rule[5:]:
                    fail(n, f"activations are {kind}, want {rule[5:]}")
            if "act-zp=0" in rules and zp is not None and np.any(zp != 0):
                fail(n, f"activation zero point {zp.ravel()[:4]}")
        if n.op_type == "DequantizeLinear" and n.input[0] in consts and consts[n.input[0]].dtype != np.int32:
            w = consts[n.input[0]]
            for rule in rules:
                if rule.startswith("weights=") and str(w.dtype) != rule[8:]:
                    fail(n, f"weights are {w.dtype}, want {rule[8:]}")
            zp = consts.get(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            if "weight-zp=0" in rules and zp is not None and np.any(zp != 0):
                fail(n, "weight zero point is not 0")
            scale = consts[n.input[1]]
            if "axis=output" in rules and scale.size > 1:
                axis = attr(n, "axis", 1) % w.ndim
                for user, index in consumers.get(n.output[0], []):
                    want = {"Conv": 0, "ConvTranspose": 1, "MatMul": w.ndim - 1,
                            "Gemm": 0 if attr(user, "transB", 0) else 1}.get(user.op_type)
                    if index == 1 and want is not None and want != axis:
                        fail(n, f"scales on axis {axis}, {user.op_type} output channels are axis {want}")
    if "2:4" in rules:
        checked = 0
        for n in graph.node:
            if n.op_type not in ("Conv", "Gemm", "MatMul") or len(n.input) < 2:
                continue
            name = n.input[1]
            if name in producers and producers[name].op_type == "DequantizeLinear":
                name = producers[name].input[0]
            if name not in consts:
                continue
            w = consts[name].astype(np.float64)
            # Put the reduction (input-channel) dim last, output channels first.
            if n.op_type == "Conv":
                w = np.moveaxis(w, 1, -1).reshape(-1, w.shape[1])
            elif n.op_type == "Gemm" and attr(n, "transB", 0):
                pass  # [out, in]
            else:
                w = w.reshape(-1, w.shape[-2], w.shape[-1]).swapaxes(-1, -2).reshape(-1, w.shape[-2])
            if w.shape[-1] % 4:
                continue  # too few input channels for 2:4
            groups = w.reshape(w.shape[0], -1, 4)
            if np.any((groups == 0).sum(-1) < 2):
                fail(n, "a group of 4 input channels holds fewer than 2 zeros")
            checked += 1
        if checked == 0:
            sys.exit("2:4: no weight was checked")
    if any(r.startswith("acts=") for r in rules) and quantized == 0:
        sys.exit("no QuantizeLinear: nothing was quantized")
    print(f"{sys.argv[1]}: {' '.join(rules)}: ok ({quantized} QuantizeLinear)")


if __name__ == "__main__":
    main()
