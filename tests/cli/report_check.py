"""Checks for tests/cli/test_report_html.sh.

  report_check.py json REPORT.json SCHEMA.json MODEL OUTPUT
      the report validates against docs/report.schema.json (the subset it uses:
      type, const, required, properties, items; objects that list properties carry
      no other key), and its figures agree with the files on disk.
  report_check.py schema REPORT.json SCHEMA.json
      only the schema part of `json`, for reports of any pipeline.
  report_check.py dom DOM.html REPORT.json
      the DOM that Chromium rendered has the three charts, drawn from the report.
  report_check.py png SCREENSHOT.png REPORT.json
      the screenshot is a real PNG of a non-blank page, with the charts' colours
      where the report has points to draw (checked where Pillow is installed).
"""
import json
import os
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser

CHART_IDS = ("chart-layer-size", "chart-layer-error", "chart-tradeoff")
SERIES_COLORS = ((0x7F, 0x9C, 0xC7), (0xE8, 0x80, 0x4F))  # before, after (src/report/ReportHtml.cpp)


def fail(message):
    sys.exit(f"report_check: {message}")


def has_type(value, name):
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "null": value is None,
    }[name]


def validate(schema, value, path, errors):
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(has_type(value, t) for t in types):
            errors.append(f"{path}: expected {types}, got {type(value).__name__}")
            return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}, got {value!r}")
    if isinstance(value, dict) and "properties" in schema:
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: missing {key}")
        for key, child in value.items():
            if key not in schema["properties"]:
                errors.append(f"{path}: undocumented field {key}")
            else:
                validate(schema["properties"][key], child, f"{path}.{key}", errors)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(schema["items"], item, f"{path}[{i}]", errors)


def zstd_cli_size(path):
    """Size of `zstd -3` output without the checksum the CLI adds by default."""
    out = subprocess.run(["zstd", "-3", "--no-check", "-q", "-c", path], check=True, stdout=subprocess.PIPE)
    return len(out.stdout)


def check_schema(report_path, schema_path):
    """The report validates against the schema; returns it."""
    report = json.load(open(report_path))
    schema = json.load(open(schema_path))
    errors = []
    validate(schema, report, "$", errors)
    if errors:
        fail("report does not match the schema:\n  " + "\n  ".join(errors))
    try:  # the full validator too, where it is installed
        import jsonschema
        jsonschema.validate(report, schema)
    except ImportError:
        pass
    return report


def check_json(report_path, schema_path, model, output):
    report = check_schema(report_path, schema_path)
    assert report["schema"] == "onnxpress.report" and report["schema_version"] == 1, report["schema"]
    assert report["pipeline"] == "eliminate-dead{functions=true opsets=true}", report["pipeline"]
    assert [p["pass"] for p in report["passes"]] == ["eliminate-dead"], report["passes"]
    assert "fidelity" in report["passes"][0], "--eval-data given but the pass has no fidelity"
    for side, path in (("before", model), ("after", output)):
        figures = report[side]
        assert figures["file_bytes"] == os.path.getsize(path), (side, figures["file_bytes"], os.path.getsize(path))
        assert 0 < figures["zstd_bytes"] < figures["file_bytes"], (side, figures["zstd_bytes"])
        if shutil.which("zstd"):
            expected = zstd_cli_size(path)
            assert abs(figures["zstd_bytes"] - expected) <= max(64, expected // 100), (side, figures["zstd_bytes"], expected)
        assert figures["parameters"] == 207114, (side, figures["parameters"])
    # Nothing in the sample is dead: every cost figure is unchanged.
    assert report["ratios"]["parameters"] == 1 and report["ratios"]["macs"] == 1, report["ratios"]
    quality = report["quality"]
    assert quality["accuracy"] is not None or quality["fidelity"] is not None, "eval data given, no quality figure"
    if quality["fidelity"] is not None:
        assert quality["fidelity"]["cosine"] > 0.999999, quality["fidelity"]
    if quality["accuracy"] is not None:
        assert quality["accuracy"]["before"] == quality["accuracy"]["after"], quality["accuracy"]


class SvgCollector(HTMLParser):
    """Collects, for each chart svg, the tags and text inside it."""

    def __init__(self):
        super().__init__()
        self.charts = {}
        self.current = None
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg" and attrs.get("id") in CHART_IDS:
            self.current = attrs["id"]
            self.charts[self.current] = {"tags": [], "text": []}
            self.depth = 0
        elif self.current:
            self.charts[self.current]["tags"].append((tag, attrs))
        if self.current and tag == "svg":
            self.depth += 1

    def handle_endtag(self, tag):
        if self.current and tag == "svg":
            self.depth -= 1
            if self.depth == 0:
                self.current = None

    def handle_data(self, data):
        if self.current and data.strip():
            self.charts[self.current]["text"].append(data.strip())


def check_dom(dom_path, report_path):
    report = json.load(open(report_path))
    collector = SvgCollector()
    collector.feed(open(dom_path, encoding="utf-8").read())
    missing = [c for c in CHART_IDS if c not in collector.charts]
    if missing:
        fail(f"charts missing from the rendered DOM: {missing}")
    count = lambda chart, tag: sum(1 for t, _ in collector.charts[chart]["tags"] if t == tag)
    texts = lambda chart: " ".join(collector.charts[chart]["text"])
    for chart in CHART_IDS:
        assert count(chart, "text") > 0, f"{chart} has no text"

    layers = report["layers"]
    if layers:
        # Two bars per layer (before, after) besides the legend swatches, and every layer named.
        assert count("chart-layer-size", "rect") >= 2 * len(layers), count("chart-layer-size", "rect")
        for layer in layers[:5]:
            assert layer["name"][:20] in texts("chart-layer-size"), layer["name"]
    else:
        assert "no per-layer figures" in texts("chart-layer-size"), texts("chart-layer-size")
    if any(l["snr_db"] is not None or l["cosine"] is not None for l in layers):
        assert count("chart-layer-error", "rect") >= 1, "layer errors measured but not drawn"
    else:
        assert "not measured" in texts("chart-layer-error"), texts("chart-layer-error")
    quality = report["quality"]
    if quality["accuracy"] is not None or quality["fidelity"] is not None:
        assert count("chart-tradeoff", "circle") == 2, count("chart-tradeoff", "circle")
        assert "original" in texts("chart-tradeoff") and "compressed" in texts("chart-tradeoff")
        if report["before"]["latency"]["builtin"] is not None:
            assert "median" in texts("chart-tradeoff"), texts("chart-tradeoff")
    else:
        assert "no accuracy or fidelity" in texts("chart-tradeoff"), texts("chart-tradeoff")


def check_png(png_path, report_path, min_bytes=30000):
    data = open(png_path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 600, (width, height)
    assert len(data) >= min_bytes, f"screenshot is only {len(data)} bytes: blank page?"
    quality = json.load(open(report_path))["quality"]
    if quality["accuracy"] is None and quality["fidelity"] is None:
        return  # no trade-off points, so no guaranteed colours
    try:  # where Pillow is installed: the trade-off points' colours are on screen
        from PIL import Image
    except ImportError:
        return
    colors = {c for _, c in Image.open(png_path).convert("RGB").getcolors(maxcolors=1 << 24)}
    for rgb in SERIES_COLORS:
        assert rgb in colors, f"colour {rgb} of the trade-off chart is not on the screenshot"


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    {"json": check_json, "schema": check_schema, "dom": check_dom, "png": check_png}[mode](*args)
