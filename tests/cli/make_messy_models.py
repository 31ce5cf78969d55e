#!/usr/bin/python3
"""Writes variants of the bundled sample model shaped like real-world messes.

Usage: make_messy_models.py SAMPLE.onnx OUTDIR

- constants.onnx: every weight held in a Constant node instead of an initializer.
- if_weights.onnx: the classifier head lives inside both branches of an If, with
  its weights as initializers and Constant nodes inside the branches only.
- ir3_opset7.onnx: IR 3, opset 7, initializers also listed as graph inputs.
- ir10_opset21.onnx: IR 10, opset 21, a dozen declared domains, symbolic dims.
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


def main():
    sample, outdir = sys.argv[1], sys.argv[2]
    model = onnx.load(sample)
    for name, fn in [("constants", to_constants), ("if_weights", if_weights),
                     ("ir3_opset7", ir3_opset7), ("ir10_opset21", ir10_opset21)]:
        onnx.save(fn(model), f"{outdir}/{name}.onnx")


if __name__ == "__main__":
    main()
