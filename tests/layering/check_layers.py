#!/usr/bin/env python3
"""Fails when a file includes a header of a layer its own layer may not use.

The layers and what each may use come from the onnxpress_layer(...) calls in
CMakeLists.txt (the same list the build links), closed transitively. A file in
src/LAYER/ or include/onnxpress/LAYER/ may include headers of LAYER and of the layers
LAYER links. Also refused: including another layer's private headers by a relative
path (src/ holds them; only include/onnxpress/ is public).

Usage: check_layers.py [SOURCE_DIR]           (exit 0 clean, 1 violations, 2 bad setup)
       check_layers.py --self-test SOURCE_DIR  (plants two violations in a copy; exit 0 if both are caught)
"""
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
    # The check must be able to fail: a copy of the tree where ir/ includes the
    # driver and a pass family includes a runtime-private header must be refused.
    source = pathlib.Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp)
        shutil.copy(source / "CMakeLists.txt", copy)
        (copy / "src/ir").mkdir(parents=True)
        (copy / "src/runtime").mkdir(parents=True)
        (copy / "src/passes/cleanup").mkdir(parents=True)
        (copy / "src/runtime/Private.h").write_text("#pragma once\n")
        (copy / "src/ir/Bad.cpp").write_text('#include "onnxpress/driver/PassRegistry.h"\n')
        (copy / "src/passes/cleanup/Bad.cpp").write_text('#include "../../runtime/Private.h"\n')
        (copy / "src/passes/cleanup/Good.cpp").write_text('#include "onnxpress/ir/Graph.h"\n')
        run = subprocess.run([sys.executable, __file__, str(copy)], capture_output=True, text=True)
        found = run.stdout.count("\n") - 1
        if run.returncode != 1 or "ir/Bad.cpp" not in run.stdout or "cleanup/Bad.cpp" not in run.stdout or found != 2:
            print("check_layers self-test: expected exactly the two planted violations, got:\n" + run.stdout, file=sys.stderr)
            sys.exit(1)
    print("check_layers self-test: both planted violations found")
    sys.exit(0)

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
cmake = (root / "CMakeLists.txt").read_text()

direct = {}
for match in re.finditer(r"^onnxpress_layer\(([^)]*)\)", cmake, re.M):
    words = match.group(1).split()
    layer = words[0]
    direct[layer] = {w[len("onnxpress_"):].replace("_", "/", 1) if w.startswith("onnxpress_passes_") else w[len("onnxpress_"):]
                     for w in words[1:] if w.startswith("onnxpress_")}
if not direct:
    print("check_layers: no onnxpress_layer() calls found in CMakeLists.txt", file=sys.stderr)
    sys.exit(2)
for layer, deps in direct.items():
    unknown = deps - direct.keys()
    if unknown:
        print(f"check_layers: layer {layer} links unknown layers {sorted(unknown)}", file=sys.stderr)
        sys.exit(2)


def closure(layer, seen=None):
    seen = set() if seen is None else seen
    for dep in direct[layer]:
        if dep not in seen:
            seen.add(dep)
            closure(dep, seen)
    return seen


allowed = {layer: closure(layer) | {layer} for layer in direct}
# Longest layer names first, so passes/cleanup wins over a hypothetical passes.
layers = sorted(direct, key=len, reverse=True)


def layer_of(relative):
    for layer in layers:
        if relative == layer or relative.startswith(layer + "/"):
            return layer
    return None


include_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
violations = []
files = 0
for base in (root / "src", root / "include" / "onnxpress"):
    for path in sorted(base.rglob("*")):
        if path.suffix not in (".h", ".cpp", ".def"):
            continue
        files += 1
        own = layer_of(path.relative_to(base).as_posix())
        if own is None:
            violations.append(f"{path.relative_to(root)}: not in any layer of CMakeLists.txt")
            continue
        for inc in include_re.findall(path.read_text(errors="replace")):
            if inc.startswith("onnxpress/"):
                target = layer_of(inc[len("onnxpress/"):])
                if target is None:
                    violations.append(f"{path.relative_to(root)}: includes {inc}, which is in no layer")
                elif target not in allowed[own]:
                    violations.append(f"{path.relative_to(root)}: layer {own} includes {inc} (layer {target}); "
                                      f"{own} may use {', '.join(sorted(allowed[own] - {own})) or 'nothing'}")
            elif "/" in inc:
                resolved = (path.parent / inc).resolve()
                try:
                    rel = resolved.relative_to((root / "src").resolve()).as_posix()
                except ValueError:
                    rel = None
                if rel is not None and layer_of(rel) != own:
                    violations.append(f"{path.relative_to(root)}: includes {inc}, a private header of layer {layer_of(rel)}")

for v in violations:
    print(v)
print(f"check_layers: {files} files, {len(direct)} layers, {len(violations)} violations")
sys.exit(1 if violations else 0)
