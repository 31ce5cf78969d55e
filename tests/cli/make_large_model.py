#!/usr/bin/env python3
"""Writes OUT/large.onnx: a chain of MatMul + Relu whose weights, 9 x 8192 x 8192
float32 (2.25 GiB, past protobuf's 2 GiB limit), sit in OUT/large.onnx.data.

The weights are streamed to disk a block at a time, so making the model needs
little memory. Every weight matrix is an identity plus a small seeded pattern,
scaled per layer, so outputs stay in float range through the chain.
"""
import pathlib
import sys

import numpy as np
from onnx import TensorProto, helper, save

N, LAYERS = 8192, 9


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    pattern = (rng.standard_normal((64, N)) * 1e-3).astype(np.float32)
    initializers, nodes, offset = [], [], 0
    with open(out / "large.onnx.data", "wb") as data:
        for layer in range(LAYERS):
            for start in range(0, N, 64):
                block = pattern * np.float32(layer + 1)  # distinct layers: nothing to deduplicate
                block[np.arange(64), start + np.arange(64)] += 1.0
                data.write(block.tobytes())
            w = TensorProto(name=f"W{layer}", data_type=TensorProto.FLOAT, dims=[N, N])
            w.data_location = TensorProto.EXTERNAL
            for key, value in (("location", "large.onnx.data"), ("offset", str(offset)), ("length", str(N * N * 4))):
                entry = w.external_data.add()
                entry.key, entry.value = key, value
            offset += N * N * 4
            initializers.append(w)
            previous = "X" if layer == 0 else f"h{layer - 1}"
            nodes.append(helper.make_node("MatMul", [previous, f"W{layer}"], [f"m{layer}"]))
            nodes.append(helper.make_node("Relu", [f"m{layer}"], ["Y" if layer == LAYERS - 1 else f"h{layer}"]))
    graph = helper.make_graph(nodes, "large", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, N])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, N])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save(model, str(out / "large.onnx"))


if __name__ == "__main__":
    main()
