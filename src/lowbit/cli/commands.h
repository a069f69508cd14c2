// The subcommands of `lowbit`: each adds itself, its options and its callback to the app.
#pragma once

#include <CLI/CLI.hpp>

namespace lowbit::cli {

/// `lowbit quantizers [--markdown]`: the reference of every registered quantizer type.
void add_quantizers_command(CLI::App& app);

/// `lowbit quantize --spec SPEC --in X.npy --out Y.npy ...`: quantizes one NumPy array.
void add_quantize_command(CLI::App& app);

/// `lowbit survey [--samples N] [--seed S] [--csv FILE]`: error of every weight grid on samples.
void add_survey_command(CLI::App& app);

/// `lowbit train CFG [--set k=v ...] [--out DIR] [--stage NAME] [--resume]`: runs a run config.
void add_train_command(CLI::App& app);

/// `lowbit export RUN_DIR --stage NAME --out DIR [--prefix P]`: a trained stage as integer C.
void add_export_command(CLI::App& app);

/// `lowbit verify DIR --run RUN_DIR [--stage NAME]`: builds an export and checks it on the test
/// set.
void add_verify_command(CLI::App& app);

/// `lowbit size RUN_DIR --stage NAME | EXPORT_DIR`: per-layer flash, RAM, MACs and entropy.
void add_size_command(CLI::App& app);

/// `lowbit report RUN_DIR [--out FILE.html] [--png DIR]`: the run's plots and tables as one
/// self-contained HTML file.
void add_report_command(CLI::App& app);

/// `lowbit compare RUN [--stages A,B] [--reference S] [--csv FILE]`: MAE/MSE of stage outputs
/// against a reference stage on the test set, with each stage's own metrics.
void add_compare_command(CLI::App& app);

/// `lowbit quant-info RUN --stage NAME [--weights] [--out FILE]`: per-layer quantization as JSON.
void add_quant_info_command(CLI::App& app);

/// `lowbit flow-image RUN --stage NAME --samples I,J --out DIR`: predicted vs true flow as PNGs.
void add_flow_image_command(CLI::App& app);

}  // namespace lowbit::cli
