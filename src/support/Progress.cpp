#include "onnxpress/support/Progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace onnxpress {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kBarWidth = 20;

// "0:07", "12:34", "1:02:03".
std::string clock(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)), total_(total), enabled_(enabled()), start_(std::chrono::steady_clock::now()),
      lastDraw_(start_) {}

Progress::~Progress() { finish(); }

bool Progress::enabled() { return ::isatty(STDERR_FILENO) && spdlog::should_log(spdlog::level::info); }

void Progress::tick(int64_t n) {
  done_ += n;
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - lastDraw_ < kRedrawInterval) return;
  lastDraw_ = now;
  draw();
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (drawn_) {
    std::fputs("\r\033[K", stderr);  // carriage return, erase to end of line
    std::fflush(stderr);
  }
}

void Progress::draw() {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fputs(("\r\033[K" + formatLine(label_, done_, total_, elapsed)).c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

std::string Progress::formatLine(const std::string& label, int64_t done, int64_t total, double elapsedSeconds) {
  const double rate = elapsedSeconds > 0 ? static_cast<double>(done) / elapsedSeconds : 0.0;
  const std::string rateText = fmt::format("{:.1f}/s", rate);
  if (total <= 0) return fmt::format("{}  {}  {}", label, done, rateText);
  const double fraction = std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
  const int filled = static_cast<int>(fraction * kBarWidth);
  const std::string bar = std::string(static_cast<size_t>(filled), '#') + std::string(kBarWidth - filled, '.');
  const std::string eta = rate > 0 ? clock(static_cast<double>(total - done) / rate) : "?";
  return fmt::format("{}  {}/{}  {:3.0f}% [{}]  {}  ETA {}", label, done, total, fraction * 100, bar, rateText, eta);
}

}  // namespace onnxpress
