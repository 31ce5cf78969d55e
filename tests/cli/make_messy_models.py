#!/usr/bin/python3
"""Writes variants of the bundled sample model shaped like real-world messes.

Usage: make_messy_models.py SAMPLE.onnx OUTDIR

- constants.onnx: every weight held in a Constant node instead of an initializer.
- if_weights.onnx: the classifier head lives inside both branches of an If, with
  its weights as initializers and Constant nodes inside the branches only.
- ir3_opset7.onnx: IR 3, opset 7, initializers also listed as graph inputs.
- ir10_opset21.onnx: IR 10, opset 21, a dozen declared domains, symbolic dims.
- paddle_opset9.onnx: as PaddlePaddle's older exports: IR 4, opset 9, Constant-node
  weights, attributes that later became inputs (Clip min/max, Unsqueeze/Squeeze axes,
  Dropout ratio) and a final Softmax(axis=1) whose input
  rank is not declared anywhere (onnx's version converter refused that Softmax).
- signal_frontend.onnx (not a variant of the sample): a 1-D signal [1, 1, 1024] through
  a fixed Fourier-basis Conv (66 filters, 1 channel, 64 taps, stride 32), power, log,
  a 1x1 Conv, Relu, global pooling and a Gemm, as audio models begin.
Deterministic: same input, same bytes. Needs only Debian's python3-onnx.
"""
import copy
import sys

import onnx
from onnx import helper, numpy_helper

DOMAINS = ["ai.onnx.ml", "com.microsoft", "com.microsoft.nchwc", "ai.onnx.training",
           "ai.onnx.preview.training", "com.ms.internal.nhwc", "org.pytorch.aten",
           "com.microsoft.experimental", "ai.onnx.contrib", "com.intel.ai", "org.openvinotoolkit"]


def to_constants(model):
    m = copy.deepcopy(model)
    g = m.graph
    constants = [helper.make_node("Constant", [], [t.name], name="const_" + t.name, value=t) for t in g.initializer]
    keep = [n for n in g.node]
    del g.node[:]
    g.node.extend(constants + keep)
    del g.initializer[:]
    return m


def if_weights(model):
    """Moves the nodes from the first Gemm on into both branches of an If."""
    m = copy.deepcopy(model)
    g = m.graph
    nodes = list(g.node)
    split = next(i for i, n in enumerate(nodes) if n.op_type == "Gemm")
    head, tail = nodes[:split], nodes[split:]
    tail_inputs = {i for n in tail for i in n.input}
    weights = [t for t in g.initializer if t.name in tail_inputs]
    others = [t for t in g.initializer if t.name not in tail_inputs]
    out = g.output[0]

    def branch(name, as_constants):
        body = [copy.deepcopy(n) for n in tail]
        inits = []
        if as_constants:
            body = [helper.make_node("Constant", [], [t.name], value=t) for t in weights] + body
        else:
            inits = [copy.deepcopy(t) for t in weights]
        for n in body:
            for i, o in enumerate(n.output):
                if o == out.name:
                    n.output[i] = name + "_out"
        return helper.make_graph(body, name, [], [helper.make_tensor_value_info(name + "_out", 1, None)], inits)

    cond = helper.make_tensor("use_then", onnx.TensorProto.BOOL, [], [True])
    if_node = helper.make_node("If", ["use_then"], [out.name], name="head_if",
                               then_branch=branch("then_head", False), else_branch=branch("else_head", True))
    del g.node[:]
    g.node.extend(head + [if_node])
    del g.initializer[:]
    g.initializer.extend(others + [cond])
    return m


def ir3_opset7(model):
    m = copy.deepcopy(model)
    m.ir_version = 3
    m.opset_import[0].version = 7
    for n in m.graph.node:  # ceil_mode arrived in MaxPool-10
        kept = [a for a in n.attribute if not (n.op_type == "MaxPool" and a.name == "ceil_mode")]
        del n.attribute[:]
        n.attribute.extend(kept)
    m.graph.input.extend([helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in m.graph.initializer])
    return m


def ir10_opset21(model):
    m = copy.deepcopy(model)
    m.ir_version = 10
    m.opset_import[0].version = 21
    for d in DOMAINS:
        m.opset_import.append(helper.make_opsetid(d, 1))
    m.metadata_props.append(onnx.StringStringEntryProto(key="source", value="make_messy_models.py"))
    for vi in list(m.graph.input) + list(m.graph.output):
        vi.type.tensor_type.shape.dim[0].dim_param = "batch_size"
    return m


def paddle_opset9(model):
    m = to_constants(ir3_opset7(model))
    m.ir_version = 4
    m.opset_import[0].version = 9
    del m.graph.input[1:]  # IR 4: initializers need not be inputs (there are none left)
    g = m.graph
    nodes = []
    relus = 0
    for n in g.node:
        if n.op_type == "Relu":
            relus += 1
            if relus == 2:
                n = helper.make_node("Clip", list(n.input), list(n.output), name="clip6", min=0.0, max=6.0)
        if n.op_type == "Flatten":
            flat = n.output[0]
            n.output[0] = flat + "_2d"
            nodes += [n,
                      helper.make_node("Unsqueeze", [flat + "_2d"], [flat + "_3d"], name="unsqueeze", axes=[2]),
                      helper.make_node("Squeeze", [flat + "_3d"], [flat], name="squeeze", axes=[2])]
            continue
        if n.output[0] == "/10/Relu_output_0":
            n.output[0] = "relu_before_dropout"
            nodes += [n, helper.make_node("Dropout", ["relu_before_dropout"], ["/10/Relu_output_0"], name="dropout",
                                          ratio=0.1)]
            continue
        if n.output[0] == "logits":
            n.output[0] = "logits_raw"
            nodes += [n, helper.make_node("Softmax", ["logits_raw"], ["logits"], name="softmax", axis=1)]
            continue
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]
    g.output[0].type.tensor_type.ClearField("shape")
    return m


def signal_frontend():
    import numpy as np
    rng = np.random.default_rng(7)
    taps, bins = 64, 33
    t = np.arange(taps)
    window = np.hanning(taps)
    basis = [np.cos(2 * np.pi * k * t / taps) * window for k in range(bins)]
    basis += [np.sin(2 * np.pi * k * t / taps) * window for k in range(bins)]
    fourier = np.array(basis, dtype=np.float32)[:, None, :]  # [66, 1, 64]
    mix = rng.normal(0, 0.2, (16, 2 * bins, 1)).astype(np.float32)
    head = rng.normal(0, 0.5, (4, 16)).astype(np.float32)
    inits = [numpy_helper.from_array(fourier, "fourier_basis"), numpy_helper.from_array(mix, "mix_weight"),
             numpy_helper.from_array(head, "head_weight"),
             numpy_helper.from_array(np.full([1], 1e-6, np.float32), "eps")]
    nodes = [helper.make_node("Conv", ["signal", "fourier_basis"], ["spectrum"], name="stft", strides=[32]),
             helper.make_node("Mul", ["spectrum", "spectrum"], ["power"], name="power"),
             helper.make_node("Add", ["power", "eps"], ["power_eps"], name="floor"),
             helper.make_node("Log", ["power_eps"], ["log_power"], name="log"),
             helper.make_node("Conv", ["log_power", "mix_weight"], ["mixed"], name="mix"),
             helper.make_node("Relu", ["mixed"], ["mixed_relu"], name="relu"),
             helper.make_node("GlobalAveragePool", ["mixed_relu"], ["pooled"], name="pool"),
             helper.make_node("Flatten", ["pooled"], ["features"], name="flatten"),
             helper.make_node("Gemm", ["features", "head_weight"], ["scores"], name="head", transB=1)]
    graph = helper.make_graph(nodes, "signal_frontend",
                              [helper.make_tensor_value_info("signal", onnx.TensorProto.FLOAT, [1, 1, 1024])],
                              [helper.make_tensor_value_info("scores", onnx.TensorProto.FLOAT, [1, 4])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7,
                             producer_name="make_messy_models.py")


def main():
    sample, outdir = sys.argv[1], sys.argv[2]
    model = onnx.load(sample)
    for name, fn in [("constants", to_constants), ("if_weights", if_weights),
                     ("ir3_opset7", ir3_opset7), ("ir10_opset21", ir10_opset21),
                     ("paddle_opset9", paddle_opset9)]:
        onnx.save(fn(model), f"{outdir}/{name}.onnx")
    onnx.save(signal_frontend(), f"{outdir}/signal_frontend.onnx")


if __name__ == "__main__":
    main()
