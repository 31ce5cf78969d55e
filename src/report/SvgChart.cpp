#include "onnxpress/report/SvgChart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "onnxpress/support/Format.h"

namespace onnxpress {
namespace {

constexpr double kWidth = 760;
constexpr double kTitleHeight = 28;
constexpr double kLegendHeight = 22;
constexpr size_t kMaxLabelChars = 30;
constexpr const char* kGridColor = "#e3e3e3";
constexpr const char* kInkColor = "#333";
constexpr const char* kMutedColor = "#777";

/// A linear axis whose ends are multiples of a "nice" step (1, 2 or 5 times a power of ten).
struct Axis {
  double lo = 0, hi = 1, step = 0.2;

  static Axis nice(double lo, double hi, int targetTicks = 5) {
    if (!(hi > lo)) hi = lo + 1;
    const double raw = (hi - lo) / targetTicks;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / magnitude;
    const double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
    return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step};
  }
  std::vector<double> ticks() const {
    std::vector<double> out;
    for (double t = lo; t <= hi + step * 1e-6; t += step) out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    return out;
  }
  /// Maps a value onto [from, to] (pixels).
  double map(double v, double from, double to) const { return from + (v - lo) / (hi - lo) * (to - from); }
};

std::string num(double v) { return fmt::format("{:.1f}", v); }

/// At most kMaxLabelChars code points, with an ellipsis when cut.
std::string shortLabel(const std::string& text) {
  size_t points = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
    if (++points > kMaxLabelChars) return text.substr(0, i) + "\u2026";
  }
  return text;
}

std::string text(double x, double y, const std::string& content, const std::string& attrs = "") {
  return fmt::format("<text x=\"{}\" y=\"{}\"{}{}>{}</text>\n", num(x), num(y), attrs.empty() ? "" : " ", attrs,
                     escapeXml(content));
}

std::string line(double x1, double y1, double x2, double y2, const std::string& attrs) {
  return fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}/>\n", num(x1), num(y1), num(x2), num(y2), attrs);
}

std::string svgOpen(const std::string& id, const std::string& title, double height) {
  return fmt::format(
      "<svg id=\"{0}\" class=\"chart\" viewBox=\"0 0 {1} {2}\" width=\"{1}\" height=\"{2}\" role=\"img\" "
      "aria-labelledby=\"{0}-title\" font-family=\"system-ui, sans-serif\" font-size=\"12\" fill=\"{3}\">\n"
      "<title id=\"{0}-title\">{4}</title>\n"
      "<text x=\"0\" y=\"18\" font-size=\"15\" font-weight=\"600\">{4}</text>\n",
      escapeXml(id), num(kWidth), num(height), kInkColor, escapeXml(title));
}

std::string emptyChart(const std::string& id, const std::string& title, const std::string& message) {
  constexpr double kHeight = 90;
  return svgOpen(id, title, kHeight) +
         fmt::format("<rect x=\"0.5\" y=\"{}\" width=\"{}\" height=\"50\" fill=\"none\" stroke=\"{}\"/>\n",
                     num(kTitleHeight + 6), num(kWidth - 1), kGridColor) +
         text(kWidth / 2, kTitleHeight + 36, message, fmt::format("text-anchor=\"middle\" fill=\"{}\"", kMutedColor)) +
         "</svg>\n";
}

std::string legend(const std::vector<BarSeries>& series, double y) {
  std::string out;
  double x = 0;
  for (const BarSeries& s : series) {
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", num(x), num(y - 10),
                       escapeXml(s.color));
    out += text(x + 17, y, s.name);
    x += 40 + 7.0 * static_cast<double>(s.name.size());
  }
  return out;
}

struct PlotBox {
  double left, top, right, bottom, height;
};

// Grid, tick labels, frame and axis labels of an x-y plot.
std::string plotFrame(const Axis& xAxis, const Axis& yAxis, const PlotBox& box, const TickFormat& xFormat,
                      const TickFormat& yFormat, const std::string& xLabel, const std::string& yLabel) {
  const TickFormat xTicks = xFormat ? xFormat : decimalTicks();
  const TickFormat yTicks = yFormat ? yFormat : decimalTicks();
  auto px = [&](double v) { return xAxis.map(v, box.left, box.right); };
  auto py = [&](double v) { return yAxis.map(v, box.bottom, box.top); };
  std::string out;
  for (double t : xAxis.ticks()) {
    out += line(px(t), box.top, px(t), box.bottom, fmt::format("stroke=\"{}\"", kGridColor));
    out += text(px(t), box.bottom + 16, xTicks(t, xAxis.step), "text-anchor=\"middle\" font-size=\"11\"");
  }
  for (double t : yAxis.ticks()) {
    out += line(box.left, py(t), box.right, py(t), fmt::format("stroke=\"{}\"", kGridColor));
    out += text(box.left - 6, py(t) + 4, yTicks(t, yAxis.step), "text-anchor=\"end\" font-size=\"11\"");
  }
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\"/>\n", num(box.left),
                     num(box.top), num(box.right - box.left), num(box.bottom - box.top), kInkColor);
  out += text((box.left + box.right) / 2, box.height - 14, xLabel, fmt::format("text-anchor=\"middle\" fill=\"{}\"", kMutedColor));
  out += fmt::format("<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n",
                     num((box.top + box.bottom) / 2), kMutedColor, escapeXml(yLabel));
  return out;
}

}  // namespace


std::string escapeXml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

TickFormat decimalTicks(std::string unit) {
  return [unit](double value, double step) {
    const int digits = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    return fmt::format("{:.{}f}{}", value, digits, unit);
  };
}

TickFormat byteTicks() {
  return [](double value, double) { return humanBytes(std::llround(value)); };
}

std::string barChartSvg(const BarChartSpec& spec) {
  bool anyValue = false;
  double lo = 0, hi = 0;
  for (const BarSeries& s : spec.series)
    for (const auto& v : s.values) {
      if (!v) continue;
      anyValue = true;
      const double drawn = spec.clampMax ? std::min(*v, *spec.clampMax) : *v;
      lo = std::min(lo, drawn);
      hi = std::max(hi, drawn);
    }
  if (!anyValue || spec.categories.empty()) return emptyChart(spec.id, spec.title, spec.emptyMessage);

  constexpr double kLabelWidth = 190, kValueWidth = 96, kBarHeight = 12, kBarGap = 2, kGroupPad = 10;
  constexpr double kAxisHeight = 40;
  const double plotLeft = kLabelWidth + 10, plotRight = kWidth - kValueWidth;
  const double top = kTitleHeight + kLegendHeight + 6;
  const auto nSeries = static_cast<double>(spec.series.size());
  const double groupHeight = nSeries * kBarHeight + (nSeries - 1) * kBarGap + kGroupPad;
  const double plotBottom = top + groupHeight * static_cast<double>(spec.categories.size());
  const Axis axis = Axis::nice(lo, hi);
  auto x = [&](double v) { return axis.map(v, plotLeft, plotRight); };
  const TickFormat tickFormat = spec.tickFormat ? spec.tickFormat : decimalTicks();
  auto valueFormat = [&](double v) { return spec.valueFormat ? spec.valueFormat(v) : fmt::format("{:g}", v); };

  std::string out = svgOpen(spec.id, spec.title, plotBottom + kAxisHeight);
  out += legend(spec.series, kTitleHeight + 14);
  for (double t : axis.ticks()) {
    out += line(x(t), top, x(t), plotBottom, fmt::format("stroke=\"{}\"", kGridColor));
    out += text(x(t), plotBottom + 14, tickFormat(t, axis.step), "text-anchor=\"middle\" font-size=\"11\"");
  }
  out += text((plotLeft + plotRight) / 2, plotBottom + 32, spec.axisLabel,
              fmt::format("text-anchor=\"middle\" fill=\"{}\"", kMutedColor));

  for (size_t c = 0; c < spec.categories.size(); ++c) {
    const double groupTop = top + groupHeight * static_cast<double>(c) + kGroupPad / 2;
    out += fmt::format("<g><title>{}</title>\n", escapeXml(spec.categories[c]));
    out += text(kLabelWidth, groupTop + (groupHeight - kGroupPad) / 2 + 4, shortLabel(spec.categories[c]),
                "text-anchor=\"end\"");
    for (size_t s = 0; s < spec.series.size(); ++s) {
      const BarSeries& series = spec.series[s];
      const double barTop = groupTop + static_cast<double>(s) * (kBarHeight + kBarGap);
      const std::optional<double> v = c < series.values.size() ? series.values[c] : std::nullopt;
      if (!v) {
        out += text(x(0) + 4, barTop + kBarHeight - 2, "n/a", fmt::format("font-size=\"11\" fill=\"{}\"", kMutedColor));
        continue;
      }
      const double drawn = spec.clampMax ? std::min(*v, *spec.clampMax) : *v;
      const double x0 = x(0), x1 = x(drawn);
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", num(std::min(x0, x1)),
                         num(barTop), num(std::max(std::abs(x1 - x0), 0.5)), num(kBarHeight), escapeXml(series.color));
      out += text(std::max(x0, x1) + 4, barTop + kBarHeight - 2, valueFormat(*v), "font-size=\"11\"");
    }
    out += "</g>\n";
  }
  out += line(x(0), top, x(0), plotBottom, fmt::format("stroke=\"{}\"", kInkColor));
  return out + "</svg>\n";
}

std::string scatterChartSvg(const ScatterChartSpec& spec) {
  if (spec.points.empty()) return emptyChart(spec.id, spec.title, spec.emptyMessage);

  constexpr double kHeight = 380, kLeft = 90, kRight = 40, kTop = 56, kBottom = 56;
  const double plotRight = kWidth - kRight, plotBottom = kHeight - kBottom;
  auto [xMin, xMax] = std::minmax_element(spec.points.begin(), spec.points.end(),
                                          [](const ScatterPoint& a, const ScatterPoint& b) { return a.x < b.x; });
  auto [yMin, yMax] = std::minmax_element(spec.points.begin(), spec.points.end(),
                                          [](const ScatterPoint& a, const ScatterPoint& b) { return a.y < b.y; });
  // Room around the points: 30% of their spread, or 1% of the value when they coincide.
  auto padded = [](double lo, double hi) {
    const double pad = hi > lo ? (hi - lo) * 0.3 : std::max(std::abs(hi) * 0.01, 1e-3);
    return std::pair{lo - pad, hi + pad};
  };
  const auto [xLo, xHi] = spec.xFromZero ? std::pair{0.0, xMax->x * 1.1} : padded(xMin->x, xMax->x);
  const auto [yLo, yHi] = padded(yMin->y, yMax->y);
  const Axis xAxis = Axis::nice(xLo, xHi), yAxis = Axis::nice(yLo, yHi);
  auto px = [&](double v) { return xAxis.map(v, kLeft, plotRight); };
  auto py = [&](double v) { return yAxis.map(v, plotBottom, kTop); };
  const std::string arrowId = spec.id + "-arrow";
  std::string out = svgOpen(spec.id, spec.title, kHeight);
  out += fmt::format(
      "<defs><marker id=\"{}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
      "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker></defs>\n",
      escapeXml(arrowId), kMutedColor);
  out += plotFrame(xAxis, yAxis, PlotBox{kLeft, kTop, plotRight, plotBottom, kHeight}, spec.xTicks, spec.yTicks, spec.xLabel,
                   spec.yLabel);

  // Arrows from each point to the next (original -> compressed), stopping short of the marker.
  for (size_t i = 0; i + 1 < spec.points.size(); ++i) {
    const double x1 = px(spec.points[i].x), y1 = py(spec.points[i].y);
    const double x2 = px(spec.points[i + 1].x), y2 = py(spec.points[i + 1].y);
    const double length = std::hypot(x2 - x1, y2 - y1);
    if (length < 20) continue;
    const double ux = (x2 - x1) / length, uy = (y2 - y1) / length;
    out += line(x1 + ux * 9, y1 + uy * 9, x2 - ux * 10, y2 - uy * 10,
                fmt::format("stroke=\"{}\" stroke-dasharray=\"4 3\" marker-end=\"url(#{})\"", kMutedColor,
                            escapeXml(arrowId)));
  }
  for (size_t i = 0; i < spec.points.size(); ++i) {
    const ScatterPoint& p = spec.points[i];
    const double x = px(p.x), y = py(p.y);
    const bool labelLeft = x > kLeft + (plotRight - kLeft) * 0.6;
    const double labelX = labelLeft ? x - 12 : x + 12;
    const double labelY = std::clamp(i % 2 == 0 ? y - 22 : y + 20, kTop + 14, plotBottom - 18);
    const std::string anchor = labelLeft ? "text-anchor=\"end\"" : "";
    out += fmt::format("<g><title>{}: {}</title>\n", escapeXml(p.label), escapeXml(p.detail));
    out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"7\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"2\"/>\n", num(x),
                       num(y), escapeXml(p.color));
    out += text(labelX, labelY, p.label, anchor + (anchor.empty() ? "" : " ") + "font-weight=\"600\"");
    out += text(labelX, labelY + 14, p.detail, anchor);
    out += "</g>\n";
  }
  return out + "</svg>\n";
}

std::string lineChartSvg(const LineChartSpec& spec) {
  double xLo = INFINITY, xHi = -INFINITY, yLo = INFINITY, yHi = -INFINITY;
  for (const LineSeries& series : spec.series)
    for (const auto& [x, y] : series.points) {
      xLo = std::min(xLo, x);
      xHi = std::max(xHi, x);
      yLo = std::min(yLo, y);
      yHi = std::max(yHi, y);
    }
  if (!(xHi >= xLo)) return emptyChart(spec.id, spec.title, spec.emptyMessage);

  constexpr double kHeight = 340, kLeft = 90, kRight = 40, kTop = 56, kBottom = 56;
  const double plotRight = kWidth - kRight, plotBottom = kHeight - kBottom;
  const Axis xAxis = Axis::nice(xLo, xHi > xLo ? xHi : xLo + 1), yAxis = Axis::nice(std::min(0.0, yLo), yHi > yLo ? yHi : yLo + 1);
  auto px = [&](double v) { return xAxis.map(v, kLeft, plotRight); };
  auto py = [&](double v) { return yAxis.map(v, plotBottom, kTop); };
  std::string out = svgOpen(spec.id, spec.title, kHeight);
  out += plotFrame(xAxis, yAxis, PlotBox{kLeft, kTop, plotRight, plotBottom, kHeight}, spec.xTicks, spec.yTicks, spec.xLabel,
                   spec.yLabel);
  double legendX = kLeft;
  for (const LineSeries& series : spec.series) {
    std::string path;
    for (const auto& [x, y] : series.points) path += fmt::format("{}{},{}", path.empty() ? "M" : " L", num(px(x)), num(py(y)));
    out += fmt::format("<g><title>{}</title>\n", escapeXml(series.name));
    if (!path.empty())
      out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", path, escapeXml(series.color));
    if (series.markers)
      for (const auto& [x, y] : series.points)
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\"/>\n", num(px(x)), num(py(y)), escapeXml(series.color));
    out += "</g>\n";
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", num(legendX), num(kTitleHeight + 6),
                       escapeXml(series.color));
    out += text(legendX + 18, kTitleHeight + 16, series.name);
    legendX += 40 + 7.0 * static_cast<double>(series.name.size());
  }
  return out + "</svg>\n";
}

}  // namespace onnxpress
