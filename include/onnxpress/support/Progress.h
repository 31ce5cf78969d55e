// Progress: a one-line progress bar on stderr for long loops (eval, compare,
// profile iterations).
//
//   Progress bar("evaluating", samples);
//   for (...) { work(); bar.tick(); }
//
// It draws only when stderr is a terminal and logging is at info level or more
// verbose (so `-q`, pipes, files and CI logs never see it; stdout is never
// touched, which keeps `--json` output clean). Redraws are throttled to one per
// 100 ms, and the first draw waits 100 ms so that quick loops print nothing.
// The line shows count/total, percent, a bar, the rate and the ETA
// (remaining / rate); finish() or the destructor erases it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace onnxpress {

class Progress {
 public:
  /// `total` <= 0 means unknown: the line then shows only the count and the rate.
  Progress(std::string label, int64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Counts `n` more items done and redraws if the last draw is 100 ms old.
  void tick(int64_t n = 1);
  /// Erases the line (if one was drawn); later ticks draw nothing.
  void finish();

  /// Whether a bar would be drawn now: stderr is a TTY and info logs are on.
  static bool enabled();
  /// The text of one line, without the carriage return:
  /// "evaluating  250/1000  25% [#####...............]  312.5/s  ETA 0:02".
  static std::string formatLine(const std::string& label, int64_t done, int64_t total, double elapsedSeconds);

 private:
  void draw();

  std::string label_;
  int64_t total_ = 0, done_ = 0;
  bool enabled_ = false, drawn_ = false, finished_ = false;
  std::chrono::steady_clock::time_point start_, lastDraw_;
};

}  // namespace onnxpress
