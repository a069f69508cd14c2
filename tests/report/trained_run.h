// One small trained run shared by the report tests: smart-pixel MLP (binary, so ROC and a 2x2
// confusion matrix), an FP stage and a quantized stage with a per-channel layer, a bit switch at
// epoch 2 and an integer model. Trained once per test program by `lowbit train`.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "cli/run_lowbit.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::report::testing {

/// The run's config text for run directory `out`.
inline std::string small_run_config(const std::string& out) {
  return "output: " + out + R"(
seed: 3
threads: 1
data: {source: smartpix, count: 400, val_fraction: 0.2, test_fraction: 0.25}
model: {type: mlp, widths: [12, 6]}
stages:
  - name: fp
    epochs: 3
    batch_size: 32
    optimizer: {type: adam, lr: 0.01}
    loss: {type: bce_with_logits}
  - name: w4
    from: fp
    epochs: 3
    batch_size: 32
    optimizer: {type: adam, lr: 0.005}
    loss: {type: bce_with_logits}
    quantization:
      weights: "uniform:bits=4"
      activations: "uniform:bits=8"
      layers:
        - {match: fc1, inputs: "uniform:bits=8"}
        - {match: fc2, weights: "uniform:bits=4,narrow=1,per_channel=1"}
        - {match: fc3, outputs: "uniform:bits=8"}
    events:
      - {at: 2, action: set_bits, role: weights, bits: 2}
)";
}

/// The temporary folder holding the run (and the test's other files).
inline cli::testing::TempDir& run_folder() {
  static cli::testing::TempDir dir;  // removed when the test program exits
  return dir;
}

/// The run directory, trained on first use; fails the calling test when training fails.
inline std::string trained_run() {
  static std::string run;
  static std::string error;
  if (run.empty() && error.empty()) {
    const std::string dir = run_folder() / "run";
    util::write_text_atomically(run_folder() / "run.yaml", small_run_config(dir));
    const auto r = cli::testing::run_lowbit("train '" + (run_folder() / "run.yaml") + "'");
    if (r.code != 0) {
      error = "lowbit train failed: " + r.err + r.out;
    } else {
      run = dir;
    }
  }
  EXPECT_TRUE(error.empty()) << error;
  return run;
}

}  // namespace lowbit::report::testing
