#!/usr/bin/python3
"""Checks `onnxpress inspect --json` against an independent count made with the
onnx Python package: parameters (initializers, sparse initializers and Constant
nodes, inside subgraphs too), node and subgraph counts, the op histogram, and
the interface.

Usage: independent_count.py ONNXPRESS MODEL...   (exit 1 on any mismatch)
"""
import json
import subprocess
import sys
from collections import Counter

import onnx


def numel(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def count(graph, in_subgraph, acc):
    acc["params"] += sum(numel(t.dims) for t in graph.initializer)
    acc["params"] += sum(numel(s.dims) for s in graph.sparse_initializer)
    for n in graph.node:
        op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
        acc["sub_ops" if in_subgraph else "ops"][op] += 1
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            for a in n.attribute:
                if a.name in ("value", "sparse_value"):
                    acc["params"] += numel(a.t.dims if a.name == "value" else a.sparse_tensor.dims)
                elif a.name in ("value_float", "value_int", "value_string"):
                    acc["params"] += 1
                elif a.name == "value_floats":
                    acc["params"] += len(a.floats)
                elif a.name == "value_ints":
                    acc["params"] += len(a.ints)
                elif a.name == "value_strings":
                    acc["params"] += len(a.strings)
        for a in n.attribute:
            subs = ([a.g] if a.HasField("g") else []) + list(a.graphs)
            for s in subs:
                acc["subgraphs"] += 1
                count(s, True, acc)


def main():
    binary, models = sys.argv[1], sys.argv[2:]
    failures = 0
    for path in models:
        m = onnx.load(path, load_external_data=False)
        acc = {"params": 0, "ops": Counter(), "sub_ops": Counter(), "subgraphs": 0}
        count(m.graph, False, acc)
        run = subprocess.run([binary, "-q", "inspect", "--json", path], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL {path}: inspect exited {run.returncode}: {run.stderr.strip()}")
            failures += 1
            continue
        j = json.loads(run.stdout)
        inits = {t.name for t in m.graph.initializer}
        expected = {
            "parameters": acc["params"],
            "nodes": sum(acc["ops"].values()),
            "subgraph_nodes": sum(acc["sub_ops"].values()),
            "subgraphs": acc["subgraphs"],
            "op_histogram": dict(acc["ops"]),
            "subgraph_op_histogram": dict(acc["sub_ops"]),
            "ir_version": m.ir_version,
            "inputs": [i.name for i in m.graph.input if i.name not in inits],
            "outputs": [o.name for o in m.graph.output],
        }
        got = {
            "parameters": j["parameters"]["count"],
            "nodes": j["nodes"]["count"],
            "subgraph_nodes": j["nodes"]["subgraph_nodes"],
            "subgraphs": j["nodes"]["subgraphs"],
            "op_histogram": j["nodes"]["op_histogram"],
            "subgraph_op_histogram": j["nodes"]["subgraph_op_histogram"],
            "ir_version": j["ir_version"],
            "inputs": [i["name"] for i in j["inputs"]],
            "outputs": [o["name"] for o in j["outputs"]],
        }
        bad = [k for k in expected if expected[k] != got[k]]
        if bad:
            failures += 1
            print(f"FAIL {path}: " + "; ".join(f"{k}: expected {expected[k]} got {got[k]}" for k in bad))
    print(f"independent count: {len(models) - failures} of {len(models)} models agree")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
