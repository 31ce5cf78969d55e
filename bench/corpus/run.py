#!/usr/bin/env python3
"""Quantization on the real-model corpus: every tool of TOOLS on every model of
bench/corpus/tasks, scored with the model's own task metric in ONNX Runtime.

    make corpus        # installs bench/.venv-peers and what the tasks need, then runs this
    bench/.venv-peers/bin/python bench/corpus/run.py [--models a,b] [--tools ort-static,ours-static]
        [--latency] [--traits-only] [--table-only] [--threads 2] [--timeout 1800] [--binary build/bin/onnxpress]

For each model (prepared by corpus.py when missing): the fp32 metric, then for
each tool its output's metric and retention (metric / fp32), file size (all the
tool wrote) and ratio fp32 / quantized, the tool's wall time and peak RSS (a
child process under /usr/bin/time, killed after --timeout s), a failure with the
last line of its stderr; with --latency, ONNX Runtime latency at batch 1 (median
of --iterations after --warmup, lowest of --rounds alternating rounds).

Everything runs in bench/.venv-peers: ORT's quantization tool needs newer onnx
and ml_dtypes than Debian's, and evaluating there too keeps one ONNX Runtime
(CPUExecutionProvider, --threads intra-op threads, default optimizations) for
every model file. Tool outputs and their logs stay in
bench/out/corpus/<model>/out/; results merge into bench/out/corpus/results.json
(a later run of some models or tools replaces only those entries); a Markdown
table is printed.
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))

import corpus  # noqa: E402
import quantize_vs_peers as peers  # noqa: E402  (run_peer in a child, session, latencies, versions)

# Tool table: name -> (kind, argv). "ours": arguments of the onnxpress binary;
# "peer": the runner of bench/quantize_vs_peers.py (--child TOOL MODEL OUT CALIB).
# {model}, {out}, {calib} are filled in per model.
TOOLS = {
    # Defaults: per-channel, min-fidelity auto (30 dB on the calibration data, layers kept
    # float until it holds). -int8: the same with the fallback off (every layer int8).
    "ours-static": ("ours", ["quantize", "{model}", "-o", "{out}", "--calib-data", "{calib}", "-n", "0",
                             "--fidelity-samples", "0"]),
    "ours-static-int8": ("ours", ["quantize", "{model}", "-o", "{out}", "--calib-data", "{calib}",
                                  "--min-fidelity", "off", "-n", "0", "--fidelity-samples", "0"]),
    "ours-dynamic": ("ours", ["quantize", "{model}", "-o", "{out}", "--mode", "dynamic", "--calib-data", "{calib}",
                              "-n", "0", "--fidelity-samples", "0"]),
    "ours-dynamic-int8": ("ours", ["quantize", "{model}", "-o", "{out}", "--mode", "dynamic", "--min-fidelity",
                                   "off", "-n", "0", "--fidelity-samples", "0"]),
    "ort-static": ("peer", ["ort-static"]),  # quant_pre_process, quantize_static QDQ per-channel U8/S8 MinMax
    "ort-dynamic": ("peer", ["ort-dynamic"]),  # quant_pre_process, quantize_dynamic S8 weights
    "nncf": ("peer", ["nncf"]),  # nncf.quantize, defaults, all calibration samples
}
RESULTS = os.path.join(corpus.OUT, "results.json")


def command(tool, task, model, out, calib, binary):
    kind, argv = TOOLS[tool]
    fill = {"model": model, "out": out, "calib": calib}
    if kind == "ours":
        return [binary] + [a.format(**fill) for a in argv]
    return [sys.executable, os.path.abspath(peers.__file__), "--child", argv[0], model, out, calib] + (
        ["--transformer"] if getattr(task, "TRANSFORMER", False) else [])


def runner(path, threads):
    """run(feeds) -> outputs: one inference of PATH in ONNX Runtime."""
    sess = peers.session(path, threads)
    return lambda feeds: sess.run(None, peers.cast_feeds(sess, feeds))


def run_tool(tool, task, model, calib, args):
    """Quantize MODEL with TOOL in a child process and score the output; the row of the results."""
    from simplify_vs_peers import timed
    base = os.path.join(corpus.model_dir(task), "out")
    out_dir = os.path.join(base, tool)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    out = os.path.join(out_dir, "model.onnx")
    kind, argv = TOOLS[tool]
    if kind == "ours" and not os.path.exists(args.binary):
        return {"error": f"{args.binary} not found (build it first)"}
    if tool == "nncf" and importlib.util.find_spec("nncf") is None:
        return {"error": f"nncf is not installed in {sys.executable}", "skipped": True}
    cmd = command(tool, task, model, out, calib, args.binary)
    scratch = tempfile.mkdtemp(prefix="corpus-")  # ORT's quant_pre_process leaves files in the working directory
    try:
        os.chdir(scratch)
        proc, wall, rss = timed(["timeout", "-k", "10", str(args.timeout)] + cmd)
    finally:
        os.chdir(ROOT)
        shutil.rmtree(scratch, ignore_errors=True)
    with open(os.path.join(base, f"{tool}.log"), "w") as f:
        f.write("$ " + " ".join(cmd) + f"\n# exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    row = {"command": " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd),
           "exit_code": proc.returncode, "seconds": wall, "peak_rss_mib": rss}
    if proc.returncode != 0 or not os.path.exists(out):
        code = proc.returncode
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        if code in (124, 137):
            row["error"] = f"timed out after {args.timeout} s (or killed)"
        elif not lines:
            row["error"] = f"exit code {code}" + (f" ({signal.Signals(code - 128).name})" if 128 < code < 160 else "")
        else:
            row["error"] = lines[-1][:600]
        frames = [line.strip() for line in lines if line.strip().startswith('File "')]
        if frames and "Traceback" in proc.stderr:  # a Python tool: where it failed, too
            where = re.sub(r'File "([^"]*/)?([^"/]+)"', r"\2", frames[-1])
            row["error"] += f" (at {where})"
        return row
    row["bytes"] = peers.tree_bytes(out_dir)
    row["path"] = out
    try:
        run = runner(out, args.threads)
    except Exception as e:  # noqa: BLE001 - an output ORT cannot load is a result too
        message = (str(e).strip().splitlines() or ["?"])[0]
        row["error"] = "ORT rejects output: " + message.split(" failed:", 1)[-1][:600]
        return row
    start = time.perf_counter()
    try:
        row["metric"] = task.metric(run, corpus.model_dir(task))
    except Exception as e:  # noqa: BLE001
        row["error"] = "ORT run or metric failed: " + (str(e).strip().splitlines() or ["?"])[0][:300]
    row["eval_seconds"] = time.perf_counter() - start
    return row


def bench_model(task, tools, args):
    model = corpus.prepare(task)
    calib = corpus.calib_path(task)
    traits = corpus.traits(model)
    record = {"name": task.NAME, "package": f"{task.PACKAGE[0]}=={task.PACKAGE[1]}", "member": task.MEMBER,
              "producer": task.PRODUCER, "task": task.TASK, "metric_name": task.METRIC,
              "calibration": os.path.relpath(calib, ROOT), "traits": traits, "fp32": {"bytes": os.path.getsize(model)},
              "tools": {}}
    start = time.perf_counter()
    record["fp32"]["metric"] = task.metric(runner(model, args.threads), corpus.model_dir(task))
    record["fp32"]["eval_seconds"] = time.perf_counter() - start
    print(f"{task.NAME}: fp32 {task.METRIC} = {record['fp32']['metric']:.4f}", file=sys.stderr, flush=True)
    paths = {"fp32": model}
    for tool in tools:
        row = run_tool(tool, task, model, calib, args)
        if "bytes" in row:
            row["size_ratio"] = record["fp32"]["bytes"] / row["bytes"]
        if "metric" in row:
            fp32 = record["fp32"]["metric"]
            row["retention"] = row["metric"] / fp32 if fp32 else None
        path = row.pop("path", None)
        if path and "error" not in row:
            paths[tool] = path
        record["tools"][tool] = row
        summary = row.get("error") or f"{task.METRIC} {row['metric']:.4f}, {row['seconds']:.1f} s"
        print(f"  {tool}: {summary}", file=sys.stderr, flush=True)
    if args.latency:
        feeds = _first_sample(calib)
        ms = peers.latencies(paths, feeds, args)
        record["fp32"]["latency_ms"] = ms["fp32"]
        for tool, value in ms.items():
            if tool != "fp32":
                record["tools"][tool]["latency_ms"] = value
                record["tools"][tool]["speedup"] = ms["fp32"] / value
    return record


def _first_sample(calib):
    """{input: array} of the first calibration sample (file or first shard)."""
    import numpy as np
    path = calib if os.path.isfile(calib) else sorted(
        os.path.join(calib, f) for f in os.listdir(calib) if f.endswith(".npz"))[0]
    data = np.load(path)
    return {n: data[n][0] for n in data.files if n != "labels"}


def binary_identity(binary):
    """Path, mtime and sha256 prefix of the onnxpress binary (it changes between builds)."""
    if not os.path.exists(binary):
        return {"path": binary, "missing": True}
    return {"path": os.path.relpath(binary, ROOT), "sha256": corpus.sha256(binary)[:16],
            "mtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(binary)))}


def fmt(value, spec):
    return "" if value is None else format(value, spec)


def table(records, tools):
    """Markdown: one row per model x tool."""
    latency = any("latency_ms" in r["fp32"] for r in records)
    head = "| model | tool | metric | retention % | size MiB | ratio | wall s | peak RSS MiB |" + (
        " ORT ms (speedup) |" if latency else "")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if latency else "")]
    for r in records:
        fp32 = r["fp32"]
        lat = f" {fmt(fp32.get('latency_ms'), '.2f')} |" if latency else ""
        lines.append(f"| {r['name']} | fp32 | {fp32['metric']:.4f} | 100 | {fp32['bytes'] / 2**20:.2f} | 1.00 | | |"
                     + lat)
        for tool in tools:
            row = r["tools"].get(tool)
            if row is None:
                continue
            wall = fmt(row.get("seconds"), ".1f")
            rss = fmt(row.get("peak_rss_mib"), ".0f")
            size = f"{row['bytes'] / 2**20:.2f}" if "bytes" in row else ""
            ratio = fmt(row.get("size_ratio"), ".2f")
            if "metric" in row:
                metric = f"{row['metric']:.4f}"
                retention = fmt(row["retention"] * 100 if row.get("retention") is not None else None, ".1f")
            else:
                error = row.get("error", "?").replace("|", "/")
                if len(error) > 200:
                    error = error[:110] + " ... " + error[-85:]
                metric, retention = "failed: " + error, ""
            lat = ""
            if latency:
                lat = f" {row['latency_ms']:.2f} ({row['speedup']:.2f}x) |" if "latency_ms" in row else " |"
            lines.append(f"| {r['name']} | {tool} | {metric} | {retention} | {size} | {ratio} | {wall} | {rss} |" + lat)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", help="comma-separated model names (default: all tasks)")
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated, of {', '.join(TOOLS)}")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "onnxpress"))
    ap.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads (evaluation, latency)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds before a quantizing tool is killed")
    ap.add_argument("--latency", action="store_true", help="also time every model file in ONNX Runtime")
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--traits-only", action="store_true", help="print the models' traits and stop")
    ap.add_argument("--table-only", action="store_true", help="print the table of results.json and stop")
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    import onnxruntime
    onnxruntime.set_default_logger_severity(3)  # errors only: some models warn on every run (see traits)
    tasks = corpus.load_tasks(args.models.split(",") if args.models else None)
    if args.traits_only:
        print(corpus.traits_table(corpus.all_traits(tasks)))
        return
    if args.table_only:
        with open(RESULTS) as f:
            saved = json.load(f)["models"]
        records = [saved[t.NAME] for t in tasks if t.NAME in saved]
        print(table(records, [t for t in TOOLS if any(t in r["tools"] for r in records)]))
        return
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        raise SystemExit(f"unknown tool(s) {', '.join(unknown)}; known: {', '.join(TOOLS)}")
    os.environ["NNCF_CI"] = "1"  # NNCF: no telemetry from the child processes
    results = {"models": {}}
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            results = json.load(f)
    results.update({"versions": peers.versions(), "cpu_flags": peers.cpu_flags(),
                    "settings": {"threads": args.threads, "timeout": args.timeout, "binary": binary_identity(args.binary)}})
    records = []
    for task in tasks:
        try:
            record = bench_model(task, tools, args)
        except (Exception, SystemExit) as e:  # noqa: BLE001 - a broken task must not stop the others
            print(f"{task.NAME}: failed before any tool ran: {e!r}", file=sys.stderr, flush=True)
            continue
        old = results["models"].get(task.NAME, {})
        merged = dict(old.get("tools", {}))
        merged.update(record["tools"])
        record["tools"] = {t: merged[t] for t in TOOLS if t in merged}
        results["models"][task.NAME] = record
        records.append(record)
        with open(RESULTS, "w") as f:  # after every model, so an interrupted run keeps what it measured
            json.dump(results, f, indent=1)
    by_name = {t.NAME: t for t in tasks}
    print(corpus.traits_table([(by_name[r["name"]], r["traits"]) for r in records]))
    print()
    print(table(records, [t for t in TOOLS if any(t in r["tools"] for r in records)]))
    print(f"\nwrote {os.path.relpath(RESULTS, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
