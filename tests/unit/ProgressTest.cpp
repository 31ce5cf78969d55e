// Progress: the text of one line, and silence when stderr is not a terminal.
#include <gtest/gtest.h>

#include "onnxpress/support/Progress.h"

using namespace onnxpress;

TEST(Progress, FormatsCountPercentRateAndEta) {
  // 250 of 1000 in 2 s: 125/s, 750 left -> 6 s.
  EXPECT_EQ(Progress::formatLine("evaluating", 250, 1000, 2.0),
            "evaluating  250/1000   25% [#####...............]  125.0/s  ETA 0:06");
  EXPECT_EQ(Progress::formatLine("comparing", 10, 10, 0.5), "comparing  10/10  100% [####################]  20.0/s  ETA 0:00");
  // 1 of 10000 in 1 s: 9999 s left.
  EXPECT_EQ(Progress::formatLine("x", 1, 10000, 1.0), "x  1/10000    0% [....................]  1.0/s  ETA 2:46:39");
  EXPECT_EQ(Progress::formatLine("x", 0, 10, 0.0), "x  0/10    0% [....................]  0.0/s  ETA ?");
  EXPECT_EQ(Progress::formatLine("x", 7, 0, 2.0), "x  7  3.5/s");  // unknown total
}

TEST(Progress, DrawsOnlyOnATerminal) {
  testing::internal::CaptureStderr();  // stderr becomes a file, as in a pipe or CI log
  const bool enabled = Progress::enabled();
  {
    Progress bar("quiet", 3);
    for (int i = 0; i < 3; ++i) bar.tick();
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(enabled);
}
