#include "lowbit/train/report/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace lowbit::train {
namespace {

TEST(Progress, PlainOutputIsOneLinePerEpoch) {
  std::ostringstream out;
  Progress progress(out, /*live=*/false);
  progress.start_epoch("w4", 2, 10, 3);
  for (int b = 0; b < 3; ++b) progress.batch_done(b, 0.5, 0.75);
  progress.end_epoch("loss 0.5");
  EXPECT_EQ(out.str(), "w4 3/10  loss 0.5\n");
}

TEST(Progress, LiveOutputDrawsABarWithEtaAndRunningMetrics) {
  std::ostringstream out;
  Progress progress(out, /*live=*/true);
  progress.start_epoch("fp", 0, 2, 4);
  progress.batch_done(3, 0.25, 0.875);  // the last batch is always drawn
  progress.end_epoch("done");
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("\rfp 1/2 [########################]", 0), 0u) << text;
  EXPECT_NE(text.find(" 4/4  ETA 0:00  loss 0.2500  acc 0.8750"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\033[Kfp 1/2  done\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace lowbit::train
