// Inline SVG charts for the HTML report, written by hand so the page needs no
// script and no external resource:
// - a horizontal bar chart with one or two series per category (per-layer size
//   before and after, per-layer error), one row per category so long layer lists
//   stay readable;
// - a scatter plot of labelled points (the size / quality / latency trade-off).
// The result is one <svg> element for embedding in HTML5 (no XML prolog, no
// namespace attribute). Every text taken from the caller is escaped.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace onnxpress {

/// Escapes & < > " ' for HTML and SVG text and attribute values.
std::string escapeXml(std::string_view text);

/// Formats an axis tick `value` on an axis whose ticks are `step` apart.
using TickFormat = std::function<std::string(double value, double step)>;
/// Decimal ticks with just enough digits for `step`, followed by `unit` ("", " dB", "%").
TickFormat decimalTicks(std::string unit = "");
/// Ticks as byte sizes ("195.3 KiB").
TickFormat byteTicks();

struct BarSeries {
  std::string name;   // legend text
  std::string color;  // CSS color
  std::vector<std::optional<double>> values;  // one per category; nullopt draws "n/a"
};

struct BarChartSpec {
  std::string id;      // element id of the <svg>
  std::string title;
  std::string axisLabel;
  std::vector<std::string> categories;
  std::vector<BarSeries> series;  // one or two, each with a value per category
  TickFormat tickFormat;
  std::function<std::string(double)> valueFormat;  // label at the end of each bar
  std::optional<double> clampMax;  // longer values are drawn to this length (their label is exact)
  std::string emptyMessage;        // shown instead of bars when there is no value at all
};

struct ScatterPoint {
  std::string label;  // first line next to the marker
  std::string detail; // second line (e.g. "811 KiB, 91.2%, 1.23 ms")
  double x = 0, y = 0;
  std::string color;
};

struct ScatterChartSpec {
  std::string id;
  std::string title;
  std::string xLabel, yLabel;
  std::vector<ScatterPoint> points;  // drawn in order, joined by an arrow
  TickFormat xTicks, yTicks;
  bool xFromZero = true;    // x axis starts at 0 (sizes)
  std::string emptyMessage; // shown instead of points when there are none
};

struct LineSeries {
  std::string name;   // legend text
  std::string color;
  std::vector<std::pair<double, double>> points;  // (x, y), in x order
  bool markers = false;  // a dot on every point (for sparse series)
};

struct LineChartSpec {
  std::string id;
  std::string title;
  std::string xLabel, yLabel;
  std::vector<LineSeries> series;
  TickFormat xTicks, yTicks;
  std::string emptyMessage;
};

std::string barChartSvg(const BarChartSpec& spec);
std::string lineChartSvg(const LineChartSpec& spec);
std::string scatterChartSvg(const ScatterChartSpec& spec);

}  // namespace onnxpress
