#!/usr/bin/env python3
"""Recovery by distillation: onnxpress `distill` against PyTorch training the same
student with the same data, loss and schedule, in one run.

    /usr/bin/python3 bench/training/make_data.py            # once: bench/out/training/{train,test}.npz
    /usr/bin/python3 bench/training/recovery_vs_torch.py [--case sample-channels50] [--threads 2]

Each case compresses models/fashion_mnist/model.onnx with a pipeline that loses
accuracy (50% channel pruning, or low-rank at ratio 0.5), then recovers it; the case
scratch-quarter distils a freshly initialised CNN with a quarter of the parameters
(`onnxpress distill TEACHER --student`):

- ours: `compress --passes 'PIPELINE,distill{...}' --train-data train.npz` (the same
  pass options in every run: epochs, batch 32, adam, lr 1e-3, cosine, 5% warm-up,
  seed 0; `validation=0` so that both sides train on the same 10,000 images and do
  the same work per step);
- PyTorch (Debian python3-torch): the student ONNX (the pipeline's output without
  distill) run by a small ONNX-to-torch interpreter (Conv, BatchNormalization in
  inference mode, Relu, MaxPool, Flatten, Gemm), its float initializers as
  parameters (running statistics frozen, as ours), the teacher the same way without
  gradients; loss 0.5·T²·KL(T=4) + 0.5·cross-entropy, Adam(1e-3), the same warm-up
  and cosine schedule, the same batch size and number of steps.

Both trained students are scored by the same code (the interpreter, eval mode) on
the 10,000 test images. Time per step: ours = the distill pass's seconds / steps
from the JSON report; PyTorch = wall time of its training loop / steps. Peak RSS:
ru_maxrss of each training process (ours: the whole compress run without
evaluation data; PyTorch: the process that trains). Threads: --threads for both
(onnxpress --threads, torch.set_num_threads).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "bench", "out", "training")
SAMPLE = os.path.join(ROOT, "models", "fashion_mnist", "model.onnx")
CASES = {
    "sample-channels50": "prune{granularity=channel sparsity=0.5}",
    "sample-lowrank50": "lowrank{ratio=0.5}",
    "scratch-quarter": None,  # a freshly initialised student with a quarter of the parameters
}


def make_scratch_student(path):
    """A CNN with a quarter of the sample's parameters (conv 8, conv 16, fc 64: 52,138),
    randomly initialised (seed 0), exported to ONNX with the sample's interface."""
    import torch
    from torch import nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)


def torch_module(path):
    """The ONNX graph at `path` as a callable on torch tensors, with its parameters."""
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper

    model = onnx.load(path)
    g = model.graph
    frozen = set()
    for n in g.node:
        if n.op_type == "BatchNormalization":
            frozen.update(n.input[3:5])
    params, consts = {}, {}
    for init in g.initializer:
        a = numpy_helper.to_array(init).copy()
        if a.dtype == np.float32 and a.size >= 2 and init.name not in frozen:
            params[init.name] = torch.nn.Parameter(torch.from_numpy(a))
        else:
            consts[init.name] = torch.from_numpy(a)

    def attr(node, name, default):
        for a in node.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    def run(x):
        env = {g.input[0].name: x}
        env.update(consts)
        env.update(params)
        for n in g.node:
            i = [env[name] if name else None for name in n.input]
            op = n.op_type
            if op == "Conv":
                pads = attr(n, "pads", [0, 0, 0, 0])
                assert pads[0] == pads[2] and pads[1] == pads[3], pads
                y = torch.nn.functional.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, attr(n, "strides", [1, 1]),
                                               pads[:2], attr(n, "dilations", [1, 1]), attr(n, "group", 1))
            elif op == "BatchNormalization":
                y = torch.nn.functional.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, attr(n, "epsilon", 1e-5))
            elif op == "Relu":
                y = torch.relu(i[0])
            elif op == "MaxPool":
                y = torch.nn.functional.max_pool2d(i[0], attr(n, "kernel_shape", None), attr(n, "strides", None))
            elif op == "Flatten":
                y = torch.flatten(i[0], attr(n, "axis", 1))
            elif op == "Gemm":
                a = i[0].t() if attr(n, "transA", 0) else i[0]
                b = i[1].t() if attr(n, "transB", 0) else i[1]
                y = attr(n, "alpha", 1.0) * (a @ b)
                if len(i) > 2 and i[2] is not None:
                    y = y + attr(n, "beta", 1.0) * i[2]
            elif op == "MatMul":
                y = i[0] @ i[1]
            elif op == "Add":
                y = i[0] + i[1]
            else:
                raise SystemExit(f"{path}: op {op} is not in this benchmark's interpreter")
            env[n.output[0]] = y
        return env[g.output[0].name]

    return run, list(params.values())


def load_npz(path):
    import numpy as np
    d = np.load(path)
    x = d["input"].reshape(-1, 1, 28, 28)
    return x, d["labels"]


def accuracy(path, x, y):
    import torch
    run, _ = torch_module(path)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 500):
            logits = run(torch.from_numpy(x[i:i + 500]))
            correct += int((logits.argmax(1).numpy() == y[i:i + 500]).sum())
    return correct / len(x)


def lr_at(step, total, warmup, peak):
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def torch_train(student_path, teacher_path, out_path, steps, batch, threads, seed):
    """Trains in this process (called as a child); writes the weights back into ONNX."""
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x, y = load_npz(os.path.join(DATA, "train.npz"))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    student, params = torch_module(student_path)
    teacher, _ = torch_module(teacher_path)
    opt = torch.optim.Adam(params, lr=1e-3)
    warmup = round(0.05 * steps)
    T = 4.0
    step = 0
    start = time.perf_counter()
    while step < steps:
        perm = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            if step >= steps:
                break
            idx = perm[i:i + batch]
            for group in opt.param_groups:
                group["lr"] = lr_at(step, steps, warmup, 1e-3)
            with torch.no_grad():
                t = teacher(xt[idx])
            s = student(xt[idx])
            kl = torch.nn.functional.kl_div(torch.log_softmax(s / T, 1), torch.softmax(t / T, 1), reduction="batchmean")
            loss = 0.5 * T * T * kl + 0.5 * torch.nn.functional.cross_entropy(s, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
    seconds = time.perf_counter() - start
    m = onnx.load(student_path)
    # params were created in initializer order (float, >= 2 elements, not BN statistics)
    trained = iter(params)
    frozen = {n for node in m.graph.node if node.op_type == "BatchNormalization" for n in node.input[3:5]}
    for init in m.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and a.size >= 2 and init.name not in frozen:
            init.CopyFrom(numpy_helper.from_array(next(trained).detach().numpy(), init.name))
    onnx.save(m, out_path)
    print(json.dumps({"seconds": seconds, "steps": steps}))


def run_child(cmd):
    """Runs cmd; returns (stdout, peak RSS of that child in MiB, from wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err.read()[-2000:]}")
        return out.read(), usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", default="sample-channels50", choices=sorted(CASES))
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "onnxpress"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--torch-child", nargs=4, metavar=("STUDENT", "TEACHER", "OUT", "STEPS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_child:
        s, t, o, steps = args.torch_child
        torch_train(s, t, o, int(steps), args.batch, args.threads, 0)
        return
    train, test = os.path.join(DATA, "train.npz"), os.path.join(DATA, "test.npz")
    if not os.path.exists(train):
        raise SystemExit("run bench/training/make_data.py first")
    x_test, y_test = load_npz(test)
    pipeline = CASES[args.case]
    with tempfile.TemporaryDirectory() as tmp:
        student = os.path.join(tmp, "student.onnx")
        ours = os.path.join(tmp, "ours.onnx")
        report = os.path.join(tmp, "ours.json")
        common = ["--train-data", train, "-n", "0", "--fidelity-samples", "0", "--threads", str(args.threads), "--report", report]
        if pipeline is None:  # the distill command: a different architecture
            make_scratch_student(student)
            _, ours_rss = run_child([args.binary, "-q", "distill", SAMPLE, "-o", ours, "--student", student,
                                     "--epochs", str(args.epochs), "--batch", str(args.batch), "--validation", "0",
                                     "--patience", "0"] + common)
        else:
            subprocess.run([args.binary, "-q", "compress", SAMPLE, "-o", student, "--passes", pipeline, "-n", "0"],
                           check=True, capture_output=True)
            distill = f"distill{{epochs={args.epochs} batch={args.batch} validation=0 patience=0 seed=0}}"
            _, ours_rss = run_child([args.binary, "-q", "compress", SAMPLE, "-o", ours, "--passes", f"{pipeline},{distill}"]
                                    + common)
        entry = json.load(open(report))["passes"][-1]
        ours_steps, ours_seconds = entry["training"]["steps"], entry["training"]["seconds"]
        theirs = os.path.join(tmp, "torch.onnx")
        out, torch_rss = run_child([sys.executable, __file__, "--threads", str(args.threads), "--batch", str(args.batch),
                                    "--torch-child", student, SAMPLE, theirs, str(ours_steps)])
        torch_seconds = json.loads(out.strip().splitlines()[-1])["seconds"]
        rows = {
            "fp32 teacher": accuracy(SAMPLE, x_test, y_test),
            "student before training": accuracy(student, x_test, y_test),
            "onnxpress distill": accuracy(ours, x_test, y_test),
            "PyTorch": accuracy(theirs, x_test, y_test),
        }
    print(f"case {args.case}: {pipeline or 'distill command, fresh student'}, {ours_steps} steps of batch {args.batch}, {args.threads} threads")
    for name, acc in rows.items():
        print(f"  {name:26s} top-1 {acc * 100:.2f}%")
    print(f"  time per step: onnxpress {ours_seconds / ours_steps * 1000:.1f} ms, PyTorch "
          f"{torch_seconds / ours_steps * 1000:.1f} ms, ratio {ours_seconds / torch_seconds:.2f}x")
    print(f"  peak RSS: onnxpress {ours_rss:.0f} MiB, PyTorch {torch_rss:.0f} MiB, ratio {ours_rss / torch_rss:.2f}x")


if __name__ == "__main__":
    main()
