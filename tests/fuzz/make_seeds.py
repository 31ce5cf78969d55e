#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into OUT/<target>/ (make fuzz runs it).

model_loader: every model of the ONNX conformance data (libonnx-testdata) and of
              models/, plus models with external data in the "OPXD" framing
              (FuzzModelLoader.cpp): one that loads, one whose location escapes
              the directory, one whose offset passes the end of the file.
npy:          arrays of every dtype the reader knows, 0-d, empty, Fortran order,
              big-endian, and .npz archives stored, deflated and zip64.
pipeline:     every registered pass alone, then the pipelines in docs and tests.
recipe:       the recipes in docs and the CLI tests, and a JSON one.
runtime:      random byte strings (the generator reads any bytes as a graph).
"""
import io
import pathlib
import random
import re
import struct
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = pathlib.Path(__file__).resolve().parents[2]
TESTDATA = pathlib.Path("/usr/share/libonnx-testdata/data")


def model_loader(out):
    count = 0
    for path in sorted(TESTDATA.glob("*/*/model.onnx")) + sorted(ROOT.glob("models/**/*.onnx")):
        if path.stat().st_size <= 1 << 20:
            (out / f"{count:04d}-{path.parent.name}.onnx").write_bytes(path.read_bytes())
            count += 1
    weights = np.arange(12, dtype=np.float32).reshape(3, 4)

    def framed(name, location, offset, length):
        w = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[3, 4])
        w.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
            entry = w.external_data.add()
            entry.key, entry.value = key, value
        graph = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "g",
                                  [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3])],
                                  [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 4])], [w])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
        data = b"\0" * 16 + weights.tobytes()
        (out / name).write_bytes(b"OPXD" + struct.pack("<I", len(model)) + model + data)

    framed("external-ok", "weights.bin", 16, weights.nbytes)
    framed("external-escapes", "../weights.bin", 16, weights.nbytes)
    framed("external-past-end", "weights.bin", 40, weights.nbytes)
    return count + 3


def npy(out):
    arrays = {
        "f32": np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
        "f64": np.arange(5, dtype=np.float64),
        "f16": np.ones((2, 2), dtype=np.float16),
        "i8": np.arange(-4, 4, dtype=np.int8),
        "u8": np.arange(8, dtype=np.uint8).reshape(2, 2, 2),
        "i16": np.arange(6, dtype=np.int16),
        "i32": np.arange(6, dtype=np.int32).reshape(2, 3),
        "i64": np.arange(3, dtype=np.int64),
        "bool": np.array([True, False, True]),
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "bigendian": np.arange(4, dtype=">f4"),
    }
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        (out / f"{name}.npy").write_bytes(buffer.getvalue())
    stored, deflated = io.BytesIO(), io.BytesIO()
    np.savez(stored, x=arrays["f32"], y=arrays["i64"])
    np.savez_compressed(deflated, x=arrays["f32"], labels=arrays["u8"])
    (out / "stored.npz").write_bytes(stored.getvalue())
    (out / "deflated.npz").write_bytes(deflated.getvalue())
    zip64 = io.BytesIO()
    with zipfile.ZipFile(zip64, "w") as archive:
        for name in ("x", "y"):
            member = io.BytesIO()
            np.save(member, arrays["f32" if name == "x" else "i32"])
            with archive.open(f"{name}.npy", "w", force_zip64=True) as handle:
                handle.write(member.getvalue())
    (out / "zip64.npz").write_bytes(zip64.getvalue())
    return len(arrays) + 3


def pipeline(out):
    names = re.findall(r'PASS\("([a-z0-9-]+)"', (ROOT / "include/onnxpress/driver/PassRegistry.def").read_text())
    texts = list(names)
    for path in list(ROOT.glob("docs/*.md")) + list(ROOT.glob("tests/cli/*.sh")):
        texts += re.findall(r"'([a-z-]+(?:\{[^}']*\})?(?:,[a-z-]+(?:\{[^}']*\})?)*)'", path.read_text())
    texts = sorted({t for t in texts if t.split("{")[0].split(",")[0] in names})
    for i, text in enumerate(texts):
        (out / f"{i:03d}").write_text(text)
    return len(texts)


def recipe(out):
    blocks = []
    for path in [ROOT / "docs/cli.md", ROOT / "docs/batch.md"]:
        blocks += [b for b in re.findall(r"```ya?ml\n(.*?)```", path.read_text(), re.S) if "pipeline" in b]
    for path in ROOT.glob("tests/cli/*.sh"):
        blocks += re.findall(r"<<'?EOF'?\n(version: 1.*?)EOF", path.read_text(), re.S)
    blocks.append('{"version": 1, "pipeline": ["simplify", {"pass": "quantize", "options": {"mode": "static"}}],'
                  ' "data": {"calibration": "c.npz", "training": "t.npz"}, "gates": {"min-speedup": 1.1},'
                  ' "reports": ["r.json"]}')
    for i, block in enumerate(blocks):
        (out / f"{i:03d}.yaml").write_text(block)
    return len(blocks)


def runtime(out):
    rng = random.Random(17)
    for i in range(64):
        (out / f"{i:03d}").write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(8, 120))))
    return 64


def main():
    root = pathlib.Path(sys.argv[1])
    for target in (model_loader, npy, pipeline, recipe, runtime):
        out = root / target.__name__
        out.mkdir(parents=True, exist_ok=True)
        print(f"{target.__name__}: {target(out)} seeds in {out}")


if __name__ == "__main__":
    main()
