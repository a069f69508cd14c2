// Exported ONNX files run by a real ONNX Runtime (npm's onnxruntime-node in tools/onnx, installed
// by scripts/setup.sh) and compared layer by layer with the C++ integer reference in code units.
// Skipped, saying why, where node or onnxruntime-node is missing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "export/random_models.h"
#include "lowbit/export/lowering/requant_precision.h"
#include "lowbit/export/onnx/onnx_agreement.h"
#include "lowbit/export/onnx/onnx_export.h"
#include "lowbit/export/reference_executor.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::exporter {
namespace {

namespace fs = std::filesystem;
using testing::random_cnn;
using testing::random_demo_mlp;
using testing::random_inputs;
using testing::random_mlp;
using testing::random_two_branch;

constexpr int64_t kSamples = 64;

// ONNX Runtime's fused U8S8 kernels on x86 CPUs with AVX2 but without VNNI add pairs of u8 x s8
// products in int16 (vpmaddubsw), which saturates once a weight exceeds 64 in magnitude
// (2 x 255 x 64 < 32767); VNNI's vpdpbusd accumulates in int32. Linux's flags say which CPU this
// is.
bool cpu_saturates_u8s8() {
#if defined(__x86_64__)
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    const auto has = [&](const std::string& flag) {
      return (line + " ").find(" " + flag + " ") != std::string::npos;
    };
    return has("avx2") && !has("avx512_vnni") && !has("avx_vnni");
  }
#endif
  return false;
}

// Whether a layer's weights reach the magnitude at which those kernels saturate.
bool weights_can_saturate(const IntegerModel& model, const std::string& layer_name) {
  for (const Layer& layer : model.layers) {
    if (layer.name != layer_name) continue;
    if (!std::holds_alternative<FullyConnected>(layer.op) &&
        !std::holds_alternative<Conv2d>(layer.op)) {
      return false;
    }
    const std::vector<int8_t>& weights = dense_rows(layer.op).weights;
    return std::any_of(weights.begin(), weights.end(), [](int8_t w) { return std::abs(w) > 64; });
  }
  return false;
}

#define SKIP_WITHOUT_ONNX_RUNTIME()                                          \
  do {                                                                       \
    const std::string why = onnx_runtime_unavailable_reason();               \
    if (!why.empty()) GTEST_SKIP() << "ONNX Runtime not available: " << why; \
  } while (0)

class OnnxRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = fs::temp_directory_path() /
            ("lowbit_onnx_ort_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(work_);
  }
  void TearDown() override { fs::remove_all(work_); }

  OnnxAgreement agreement(const IntegerModel& model, OnnxFormat format,
                          const std::string& optimize) {
    OnnxOptions options;
    options.format = format;
    OrtRunOptions run;
    run.optimize = optimize;
    const std::vector<int8_t> inputs = random_inputs(model.input_shape.size(), kSamples - 2, 5);
    const OnnxAgreement result = compare_onnx_with_reference(
        model, inputs, kSamples, (work_ / (model.name + "_" + optimize)).string(), options, run);
    std::cout << model.name << " " << format_name(model_format(model)) << ": " << result.describe();
    return result;
  }

  static WeightFormat model_format(const IntegerModel& model) {
    for (const Layer& layer : model.layers) {
      if (const auto* fc = std::get_if<FullyConnected>(&layer.op)) return fc->format;
      if (const auto* conv = std::get_if<Conv2d>(&layer.op)) return conv->format;
    }
    return WeightFormat::kInt8;
  }

  // A layer's own differences (its inputs agreed) are rounding-boundary cases of at most one code,
  // and rare: at most 1 in 1000 codes. With `saturating` set (ONNX Runtime's fused kernels on a CPU
  // that saturates U8S8 sums), layers whose weights exceed 64 are left out; every other layer,
  // including those after them wherever their inputs agreed, is held to the same rule. Returns
  // the number of layers left out.
  static int expect_agreement(const OnnxAgreement& a, const std::string& what,
                              const IntegerModel* saturating = nullptr) {
    int left_out = 0;
    for (const OnnxLayerAgreement& layer : a.layers) {
      if (saturating != nullptr && weights_can_saturate(*saturating, layer.layer)) {
        std::cout << what << " " << layer.layer
                  << ": weights beyond +-64 on a CPU without VNNI, not compared\n";
        ++left_out;
        continue;
      }
      EXPECT_EQ(layer.own_at_boundary, layer.own_mismatches) << what << " " << layer.layer << "\n"
                                                             << a.describe();
      EXPECT_LE(layer.max_own_diff, 1) << what << " " << layer.layer;
      EXPECT_LE(layer.own_mismatches * 1000, layer.values) << what << " " << layer.layer;
    }
    return left_out;
  }

  fs::path work_;
};

std::vector<IntegerModel> models() {
  std::vector<IntegerModel> all;
  for (WeightFormat format : kAllWeightFormats) {
    all.push_back(random_mlp(format, 21));
    all.push_back(random_cnn(format, 22));
    all.push_back(random_two_branch(format, 23));
  }
  all.push_back(random_demo_mlp(WeightFormat::kInt4, 24));
  all.push_back(random_demo_mlp(WeightFormat::kInt8, 25));
  return all;
}

// QDQ without graph optimisations: each node by its own float kernel. The only differences the
// integer semantics allow are requantization near-ties (float32 vs the Q31 multiplier, half to
// even vs half away); average pools round exactly like the reference.
TEST_F(OnnxRuntimeTest, QdqUnoptimizedAgreesWithTheReference) {
  SKIP_WITHOUT_ONNX_RUNTIME();
  int64_t values = 0;
  int64_t mismatches = 0;
  for (const IntegerModel& model : models()) {
    const OnnxAgreement a = agreement(model, OnnxFormat::kQdq, "disabled");
    expect_agreement(a, model.name);
    for (const auto& layer : a.layers) values += layer.values;
    mismatches += a.mismatches();
  }
  std::cout << "qdq, optimisations disabled: " << mismatches << " of " << values
            << " codes differ\n";
}

// QDQ with every optimisation: ONNX Runtime fuses the QDQ groups into integer kernels (uint8
// activations x int8 weights) with float requantization. Full-range 8-bit weights are exact there
// only on CPUs with VNNI (docs/export.md, "ONNX Runtime"); every narrower format everywhere.
TEST_F(OnnxRuntimeTest, QdqOptimizedAgreesWithTheReference) {
  SKIP_WITHOUT_ONNX_RUNTIME();
  const bool saturates = cpu_saturates_u8s8();
  std::cout << "CPU " << (saturates ? "saturates" : "does not saturate") << " U8S8 pair sums\n";
  int left_out = 0;
  for (const IntegerModel& model : models()) {
    const int n = expect_agreement(agreement(model, OnnxFormat::kQdq, "all"), model.name,
                                   saturates ? &model : nullptr);
    // Only full-range 8-bit weights can exceed 64; every narrower format is compared everywhere.
    if (n > 0) {
      EXPECT_EQ(format_name(model_format(model)), format_name(WeightFormat::kInt8)) << model.name;
    }
    left_out += n;
  }
  // The int8 models' random weights span the full range, so on such a CPU some layers are left out.
  EXPECT_EQ(left_out > 0, saturates);
}

// QONNX through its FunctionProto definitions of Quant / BipolarQuant: the fake-quantized float
// semantics (round half to even), so average pools differ from the integer reference at exact
// .5 means, by one code; everything a layer differs by on its own is such a boundary.
TEST_F(OnnxRuntimeTest, QonnxRunsThroughItsFunctionsAndAgreesUpToTies) {
  SKIP_WITHOUT_ONNX_RUNTIME();
  for (const IntegerModel& model : models()) {
    const OnnxAgreement a = agreement(model, OnnxFormat::kQonnx, "disabled");
    EXPECT_EQ(a.own_at_boundary(), a.own_mismatches()) << model.name << "\n" << a.describe();
    EXPECT_LE(a.max_own_diff(), 1) << model.name;
    for (const OnnxLayerAgreement& layer : a.layers) {
      if (layer.layer != "avg_pool") {
        EXPECT_LE(layer.own_mismatches * 1000, layer.values) << model.name << " " << layer.layer;
      }
    }
  }
}

TEST_F(OnnxRuntimeTest, Int4WeightsAtOpset21) {
  SKIP_WITHOUT_ONNX_RUNTIME();
  const IntegerModel model = random_mlp(WeightFormat::kInt4, 31);
  OnnxOptions options;
  options.opset = 21;
  options.int4_weights = true;
  const std::vector<int8_t> inputs = random_inputs(model.input_shape.size(), kSamples - 2, 6);
  const OnnxAgreement a =
      compare_onnx_with_reference(model, inputs, kSamples, work_.string(), options, {});
  std::cout << a.describe();
  expect_agreement(a, "int4 opset 21");
}

// The harness can fail: the file of one model against the reference of a changed one.
TEST_F(OnnxRuntimeTest, DetectsADifferentModel) {
  SKIP_WITHOUT_ONNX_RUNTIME();
  const IntegerModel model = random_demo_mlp(WeightFormat::kInt4, 3);
  OnnxOptions options;
  fs::create_directories(work_);
  const std::string path = (work_ / "demo.onnx").string();
  util::write_text_atomically(path, onnx_model_bytes(model, options));
  const std::vector<int8_t> codes = random_inputs(model.input_shape.size(), 8, 2);
  std::vector<float> x;
  for (int8_t q : codes)
    x.push_back(static_cast<float>(model.input_scale * (q - model.input_zero_point)));
  const std::vector<OrtOutput> out = run_onnx_runtime(path, x, {10, 256}, (work_ / "run").string());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dims, (std::vector<int64_t>{10, 10}));
  const Layer& last = model.layers.back();
  std::vector<int8_t> got;
  for (double v : out[0].values) {
    got.push_back(
        static_cast<int8_t>(std::lround(std::nearbyint(v / static_cast<float>(last.output_scale))) +
                            last.output_zero_point));
  }
  EXPECT_EQ(got, ReferenceExecutor(model).run_batch(codes, 10));
  IntegerModel changed = model;
  std::get<FullyConnected>(changed.layers.back().op).bias[3] += 5000;
  EXPECT_NE(got, ReferenceExecutor(changed).run_batch(codes, 10));
}

TEST_F(OnnxRuntimeTest, RuntimeErrorsNameTheFile) {
  SKIP_WITHOUT_ONNX_RUNTIME();
  fs::create_directories(work_);
  const std::string path = (work_ / "broken.onnx").string();
  util::write_text_atomically(path, "not a model");
  try {
    run_onnx_runtime(path, {1.0f}, {1, 1}, (work_ / "run").string());
    FAIL() << "no error";
  } catch (const util::FileError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.onnx"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lowbit::exporter
