// The ONNX writers (src/lowbit/export/onnx/): what each QDQ and QONNX file carries, read back
// through the protobuf-free summary, ONNX's checker, the export folder and the errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "export/random_models.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/onnx/onnx_check.h"
#include "lowbit/export/onnx/onnx_export.h"
#include "lowbit/export/onnx/qonnx_writer.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::exporter {
namespace {

namespace fs = std::filesystem;
using testing::random_cnn;
using testing::random_mlp;
using testing::random_two_branch;

constexpr int32_t kFloat = 1;
constexpr int32_t kUint8 = 2;
constexpr int32_t kInt8 = 3;
constexpr int32_t kInt32 = 6;

OnnxOptions options_for(OnnxFormat format) {
  OnnxOptions options;
  options.format = format;
  return options;
}

OnnxSummary written(const IntegerModel& model, const OnnxOptions& options,
                    bool* checked = nullptr) {
  return summarize_onnx_model(onnx_model_bytes(model, options, checked), model.name);
}

const OnnxInitializerSummary& init(const OnnxSummary& s, const std::string& name) {
  const auto it = s.initializers.find(name);
  if (it == s.initializers.end()) throw std::runtime_error("no initializer " + name);
  return it->second;
}

std::vector<double> as_doubles(const std::vector<int8_t>& codes) {
  return std::vector<double>(codes.begin(), codes.end());
}

TEST(OnnxFormat, NamesAndErrors) {
  EXPECT_EQ(onnx_format_named("qdq"), OnnxFormat::kQdq);
  EXPECT_EQ(onnx_format_named("qonnx"), OnnxFormat::kQonnx);
  EXPECT_STREQ(onnx_format_name(OnnxFormat::kQonnx), "qonnx");
  try {
    onnx_format_named("tflite");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("qdq, qonnx"), std::string::npos) << e.what();
  }
}

TEST(QdqWriter, MlpCarriesCodesPerAxisScalesInt32BiasAndClamps) {
  const IntegerModel model = random_mlp(WeightFormat::kInt8, 11);
  bool checked = false;
  const OnnxSummary s = written(model, options_for(OnnxFormat::kQdq), &checked);
  EXPECT_TRUE(checked);
  EXPECT_EQ(s.opsets.at(""), 13);
  EXPECT_EQ(s.ir_version, 7);
  EXPECT_EQ(s.inputs, std::vector<std::string>{"input"});
  EXPECT_EQ(s.outputs, std::vector<std::string>{"output"});
  EXPECT_EQ(s.metadata.at("lowbit_format"), "qdq");
  const auto gemms = s.nodes_of("Gemm");
  ASSERT_EQ(gemms.size(), model.layers.size());
  for (size_t i = 0; i < gemms.size(); ++i) {
    const Layer& layer = model.layers[i];
    const auto& fc = std::get<FullyConnected>(layer.op);
    const OnnxNodeSummary& gemm = *gemms[i];
    EXPECT_EQ(gemm.ints.at("transB"), 1);
    // A: uint8 activations through DequantizeLinear.
    const OnnxNodeSummary* a = s.producer_of(gemm.inputs[0]);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->op_type, "DequantizeLinear");
    EXPECT_EQ(init(s, a->inputs[2]).data_type, kUint8);
    // B: the int8 codes [out, in], per-axis scales when the layer is per channel.
    const OnnxNodeSummary* w = s.producer_of(gemm.inputs[1]);
    ASSERT_EQ(w->op_type, "DequantizeLinear");
    const OnnxInitializerSummary& codes = init(s, w->inputs[0]);
    EXPECT_EQ(codes.data_type, kInt8);
    EXPECT_EQ(codes.dims, (std::vector<int64_t>{fc.out_features, fc.in_features}));
    EXPECT_EQ(codes.values, as_doubles(fc.weights));
    const OnnxInitializerSummary& scale = init(s, w->inputs[1]);
    const bool per_channel = fc.requant.multiplier.size() > 1;
    EXPECT_EQ(scale.values.size(), per_channel ? static_cast<size_t>(fc.out_features) : 1u);
    EXPECT_EQ(w->ints.count("axis"), per_channel ? 1u : 0u);
    // C: the int32 bias at scale s_x * s_w.
    const OnnxNodeSummary* b = s.producer_of(gemm.inputs[2]);
    ASSERT_EQ(b->op_type, "DequantizeLinear");
    EXPECT_EQ(init(s, b->inputs[0]).data_type, kInt32);
    EXPECT_EQ(init(s, b->inputs[0]).values, std::vector<double>(fc.bias.begin(), fc.bias.end()));
    const double s_x = input_scale_of(model, layer.inputs[0]);
    for (size_t c = 0; c < scale.values.size(); ++c) {
      EXPECT_FLOAT_EQ(init(s, b->inputs[1]).values[c], s_x * scale.values[c]);
      // s_x * s_w / s_y is the layer's fixed-point requantization factor.
      const double factor = fc.requant.multiplier[c] * std::ldexp(1.0, fc.requant.shift[c] - 31);
      EXPECT_NEAR(s_x * scale.values[c] / layer.output_scale, factor, 1e-6 * factor);
    }
  }
  // A clamp narrower than uint8 (relu with zero point > -128, relu6) is a Clip on the codes.
  const auto clips = s.nodes_of("Clip");
  size_t clamped = 0;
  for (const Layer& layer : model.layers) {
    const auto& r = std::get<FullyConnected>(layer.op).requant;
    clamped += r.act_min > -128 || r.act_max < 127;
  }
  EXPECT_GT(clamped, 0u);
  ASSERT_EQ(clips.size(), clamped);
  for (const OnnxNodeSummary* clip : clips) {
    EXPECT_EQ(s.producer_of(clip->inputs[0])->op_type, "QuantizeLinear");
    EXPECT_EQ(init(s, clip->inputs[1]).data_type, kUint8);
  }
}

TEST(QdqWriter, ImageModelsAndTwoBranchesPassTheChecker) {
  for (WeightFormat format : kAllWeightFormats) {
    for (const IntegerModel& model :
         {random_cnn(format, 3), random_two_branch(format, 4), random_mlp(format, 5)}) {
      bool checked = false;
      const OnnxSummary s = written(model, options_for(OnnxFormat::kQdq), &checked);
      EXPECT_TRUE(checked) << model.name << " " << format_name(format);
      if (model.name == "cnn") {
        const auto convs = s.nodes_of("Conv");
        ASSERT_EQ(convs.size(), 2u);
        EXPECT_EQ(convs[0]->ints.at("group"), 3);  // depthwise
        EXPECT_EQ(convs[0]->int_lists.at("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
        EXPECT_EQ(s.nodes_of("MaxPool").size(), 1u);
        EXPECT_EQ(s.nodes_of("AveragePool").size(), 1u);
        EXPECT_EQ(s.nodes_of("AveragePool")[0]->ints.at("count_include_pad"), 0);
      } else if (model.name == "two_branch") {
        EXPECT_EQ(s.nodes_of("Slice").size(), 2u);
        EXPECT_EQ(s.nodes_of("Concat").size(), 1u);
        EXPECT_EQ(s.nodes_of("Div").size(), 1u);  // hard-sigmoid's / 6
      }
    }
  }
}

TEST(QdqWriter, FusableAveragePoolOption) {
  OnnxOptions options = options_for(OnnxFormat::kQdq);
  options.exact_average_pool = false;
  const OnnxSummary s = written(random_cnn(WeightFormat::kInt4, 1), options);
  const OnnxNodeSummary& pool = *s.nodes_of("AveragePool").at(0);
  EXPECT_EQ(s.producer_of(pool.inputs[0])->op_type, "DequantizeLinear");
  EXPECT_TRUE(s.nodes_of("Floor").empty());
  const OnnxSummary exact =
      written(random_cnn(WeightFormat::kInt4, 1), options_for(OnnxFormat::kQdq));
  EXPECT_EQ(exact.producer_of(exact.nodes_of("AveragePool").at(0)->inputs[0])->op_type, "Cast");
  EXPECT_EQ(exact.nodes_of("Floor").size(), 1u);
}

TEST(QdqWriter, Int4WeightsAtOpset21) {
  const IntegerModel model = random_mlp(WeightFormat::kInt4, 2);
  OnnxOptions options = options_for(OnnxFormat::kQdq);
  options.opset = 21;
  options.int4_weights = true;
  bool checked = true;
  const OnnxSummary s = written(model, options, &checked);
  EXPECT_FALSE(checked);  // newer than Debian's checker
  EXPECT_EQ(s.ir_version, 10);
  const OnnxNodeSummary* w = s.producer_of(s.nodes_of("Gemm")[0]->inputs[1]);
  const OnnxInitializerSummary& codes = init(s, w->inputs[0]);
  EXPECT_EQ(codes.data_type, 22);
  EXPECT_EQ(codes.values, as_doubles(std::get<FullyConnected>(model.layers[0].op).weights));
  EXPECT_EQ(init(s, w->inputs[2]).data_type, 22);
}

TEST(QdqWriter, BadOptionsAreErrorsNamingTheFormat) {
  OnnxOptions options = options_for(OnnxFormat::kQdq);
  options.opset = 12;
  EXPECT_THROW(
      {
        try {
          onnx_model_bytes(random_mlp(WeightFormat::kInt8, 1), options);
        } catch (const std::invalid_argument& e) {
          EXPECT_NE(std::string(e.what()).find("qdq export: opset 12"), std::string::npos);
          throw;
        }
      },
      std::invalid_argument);
  options.opset = 13;
  options.int4_weights = true;
  EXPECT_THROW(onnx_model_bytes(random_mlp(WeightFormat::kInt4, 1), options),
               std::invalid_argument);
  // An invalid integer model is refused naming the layer.
  IntegerModel bad = random_mlp(WeightFormat::kInt4, 1);
  std::get<FullyConnected>(bad.layers[2].op).weights[0] = 9;
  try {
    onnx_model_bytes(bad, options_for(OnnxFormat::kQonnx));
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("fc2"), std::string::npos) << e.what();
  }
}

TEST(QonnxQuantChoice, ActivationGrids) {
  // After a ReLU on an unsigned grid: unsigned, zero point 0, exact range.
  QonnxQuant q = qonnx_activation_quant(-128, -128, 127);
  EXPECT_FALSE(q.is_signed);
  EXPECT_EQ(q.bits, 8);
  EXPECT_EQ(q.zeropt, 0);
  EXPECT_FALSE(q.clip);
  q = qonnx_activation_quant(-128, -128, -113);  // 4-bit unsigned
  EXPECT_EQ(q.bits, 4);
  EXPECT_FALSE(q.is_signed);
  EXPECT_FALSE(q.clip);
  q = qonnx_activation_quant(0, -128, 127);
  EXPECT_TRUE(q.is_signed);
  EXPECT_EQ(q.bits, 8);
  EXPECT_FALSE(q.narrow);
  q = qonnx_activation_quant(0, -7, 7);
  EXPECT_EQ(q.bits, 4);
  EXPECT_TRUE(q.narrow);
  // A non-zero zero point over the whole int8 range: signed 8 bits at that zero point.
  q = qonnx_activation_quant(3, -128, 127);
  EXPECT_EQ(q.zeropt, 3);
  EXPECT_FALSE(q.clip);
  // ReLU at zero point -110: codes 0..237 need a Clip before an unsigned 8-bit Quant.
  q = qonnx_activation_quant(-110, -110, 127);
  EXPECT_TRUE(q.clip);
  EXPECT_FALSE(q.is_signed);
  EXPECT_EQ(q.bits, 8);
  EXPECT_EQ(q.clip_lo, 0);
  EXPECT_EQ(q.clip_hi, 237);
}

TEST(QonnxQuantChoice, WeightGrids) {
  const QonnxQuant ternary = qonnx_weight_quant(WeightFormat::kInt2, {-1, 0, 1, 1});
  EXPECT_EQ(ternary.bits, 2);
  EXPECT_TRUE(ternary.narrow);
  EXPECT_FALSE(qonnx_weight_quant(WeightFormat::kInt2, {-2, 0, 1}).narrow);
  EXPECT_EQ(qonnx_weight_quant(WeightFormat::kInt8, {-128, 5}).bits, 8);
  const QonnxQuant sym4 = qonnx_weight_quant(WeightFormat::kSym4, {-15, 3, 15});
  EXPECT_EQ(sym4.bits, 5);
  EXPECT_TRUE(sym4.narrow);
  EXPECT_EQ(sym4.min(), -15);
  EXPECT_EQ(qonnx_weight_quant(WeightFormat::kSym2, {-3, 1}).bits, 3);
  EXPECT_THROW(qonnx_weight_quant(WeightFormat::kBinary, {1}), std::logic_error);
}

// What hls4ml's and FINN's QONNX front ends read: Quant in qonnx.custom_op.general on every
// weight (scale shaped to broadcast per output channel) and after every activation, MatMul + Add
// (no Gemm), NCHW Conv with group, the pools.
TEST(QonnxWriter, CnnStructureAsHls4mlAndFinnReadIt) {
  const IntegerModel model = random_cnn(WeightFormat::kInt4, 7);
  bool checked = false;
  const OnnxSummary s = written(model, options_for(OnnxFormat::kQonnx), &checked);
  EXPECT_TRUE(checked);
  EXPECT_EQ(s.opsets.at(kQonnxDomain), 1);
  EXPECT_TRUE(s.functions.empty());
  EXPECT_TRUE(s.nodes_of("Gemm").empty());
  for (const OnnxNodeSummary* quant : s.nodes_of("Quant")) {
    EXPECT_EQ(quant->domain, kQonnxDomain);
    EXPECT_EQ(quant->strings.at("rounding_mode"), "ROUND");
    ASSERT_EQ(quant->inputs.size(), 4u);
    EXPECT_TRUE(init(s, quant->inputs[2]).dims.empty());  // scalar zero point
    EXPECT_TRUE(init(s, quant->inputs[3]).dims.empty());  // scalar bit width
  }
  const auto convs = s.nodes_of("Conv");
  ASSERT_EQ(convs.size(), 2u);
  for (size_t i = 0; i < convs.size(); ++i) {
    const auto& conv = std::get<Conv2d>(model.layers[i].op);
    EXPECT_EQ(convs[i]->ints.at("group"), conv.groups);
    const OnnxNodeSummary* w = s.producer_of(convs[i]->inputs[1]);
    ASSERT_EQ(w->op_type, "Quant");
    EXPECT_EQ(w->ints.at("signed"), 1);
    EXPECT_EQ(init(s, w->inputs[3]).values, std::vector<double>{4});
    EXPECT_EQ(init(s, w->inputs[0]).dims,
              (std::vector<int64_t>{conv.out_channels, conv.in_channels / conv.groups,
                                    conv.kernel_h, conv.kernel_w}));
    const std::vector<int64_t> scale_dims = init(s, w->inputs[1]).dims;
    if (conv.requant.multiplier.size() > 1) {
      EXPECT_EQ(scale_dims, (std::vector<int64_t>{conv.out_channels, 1, 1, 1}));
    } else {
      EXPECT_TRUE(scale_dims.empty());
    }
  }
  // Each activation's Quant: after relu / relu6 on codes from zero point, unsigned at zeropt 0.
  const OnnxNodeSummary* act = s.producer_of(s.nodes_of("MaxPool")[0]->inputs[0]);
  ASSERT_EQ(act->op_type, "Quant");
  EXPECT_EQ(act->ints.at("signed"), 0);
  EXPECT_EQ(init(s, act->inputs[2]).values, std::vector<double>{0});
  EXPECT_EQ(s.nodes_of("AveragePool").size(), 1u);
  // The classifier: MatMul on a [K, N] weight with a [1, N] (or scalar) scale, then Add.
  const auto matmuls = s.nodes_of("MatMul");
  ASSERT_EQ(matmuls.size(), 1u);
  const auto& fc = std::get<FullyConnected>(model.layers.back().op);
  const OnnxNodeSummary* w = s.producer_of(matmuls[0]->inputs[1]);
  EXPECT_EQ(init(s, w->inputs[0]).dims, (std::vector<int64_t>{fc.in_features, fc.out_features}));
  if (fc.requant.multiplier.size() > 1) {
    EXPECT_EQ(init(s, w->inputs[1]).dims, (std::vector<int64_t>{1, fc.out_features}));
  }
  EXPECT_EQ(s.nodes_of("Add").size(), 1u);
  EXPECT_EQ(s.nodes_of("Flatten").size(), 1u);
}

TEST(QonnxWriter, BinaryTernaryAndOddGrids) {
  const OnnxSummary binary =
      written(random_mlp(WeightFormat::kBinary, 3), options_for(OnnxFormat::kQonnx));
  EXPECT_EQ(binary.nodes_of("BipolarQuant").size(), 6u);
  for (const OnnxNodeSummary* node : binary.nodes_of("BipolarQuant")) {
    EXPECT_EQ(node->domain, kQonnxDomain);
  }
  const OnnxSummary sym4 =
      written(random_mlp(WeightFormat::kSym4, 3), options_for(OnnxFormat::kQonnx));
  const OnnxNodeSummary* w = sym4.producer_of(sym4.nodes_of("MatMul")[0]->inputs[1]);
  EXPECT_EQ(init(sym4, w->inputs[3]).values, std::vector<double>{5});
  EXPECT_EQ(w->ints.at("narrow"), 1);
  // The stored real weights are the codes times the scale, so the Quant returns them unchanged.
  const IntegerModel model = random_mlp(WeightFormat::kSym4, 3);
  const auto& fc = std::get<FullyConnected>(model.layers[0].op);
  const OnnxInitializerSummary& real = init(sym4, w->inputs[0]);
  const OnnxInitializerSummary& scale = init(sym4, w->inputs[1]);
  for (int64_t o = 0; o < fc.out_features; ++o) {
    const double s = scale.values[scale.values.size() == 1 ? 0 : static_cast<size_t>(o)];
    EXPECT_NEAR(real.values[static_cast<size_t>(o)] / s,
                fc.weights[static_cast<size_t>(o * fc.in_features)], 1e-4);
  }
}

TEST(QonnxWriter, RunnableFunctionsPassTheChecker) {
  OnnxOptions options = options_for(OnnxFormat::kQonnx);
  options.runnable_functions = true;
  bool checked = false;
  const OnnxSummary s = written(random_two_branch(WeightFormat::kBinary, 5), options, &checked);
  EXPECT_TRUE(checked);
  EXPECT_EQ(s.ir_version, 8);
  EXPECT_EQ(s.functions, (std::vector<std::string>{std::string(kQonnxDomain) + ":Quant",
                                                   std::string(kQonnxDomain) + ":BipolarQuant"}));
  EXPECT_EQ(s.nodes_of("Slice").size(), 2u);
  EXPECT_EQ(s.nodes_of("HardSigmoid").size(), 1u);
  options.opset = 18;
  EXPECT_THROW(onnx_model_bytes(random_mlp(WeightFormat::kInt8, 1), options),
               std::invalid_argument);
}

TEST(OnnxCheck, RejectsGarbageAndBrokenGraphs) {
  EXPECT_THROW(check_onnx_model("not a model", "garbage"), std::invalid_argument);
  EXPECT_THROW(summarize_onnx_model("not a model", "garbage"), std::invalid_argument);
}

class OnnxExportFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() /
        ("lowbit_onnx_export_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(OnnxExportFolder, WritesModelJsonAndMarkerAndReplacesOnlyExports) {
  const IntegerModel model = random_two_branch(WeightFormat::kInt4, 9);
  OnnxOptions options = options_for(OnnxFormat::kQonnx);
  options.provenance = {"runs/x", "w4", "abc", "2024-01-01T00:00:00Z"};
  const fs::path out = root_ / "onnx";
  const OnnxExportResult result = export_onnx(model, out.string(), options);
  EXPECT_TRUE(result.checked);
  EXPECT_EQ(result.model_path, (out / "model.onnx").string());
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(out / "model.onnx")), result.file_bytes);
  EXPECT_TRUE(is_export_folder(out.string()));
  const nlohmann::json json = nlohmann::json::parse(util::read_file((out / "model.json").string()));
  EXPECT_EQ(json.at("format"), "lowbit-onnx-model");
  EXPECT_EQ(json.at("onnx_format"), "qonnx");
  EXPECT_EQ(json.at("input").at("zero_point"), model.input_zero_point);
  EXPECT_EQ(json.at("input").at("shape"), nlohmann::json::array({"N", 36}));
  EXPECT_EQ(json.at("provenance").at("stage"), "w4");
  const OnnxSummary s = summarize_onnx_model(util::read_file(result.model_path), result.model_path);
  EXPECT_EQ(s.metadata.at("source_run"), "runs/x");
  // `lowbit verify` / `size` read it as an ONNX export (no C prefix or target).
  const ExportInfo info = read_export_info(out.string());
  EXPECT_EQ(info.format, onnx_format_name(options.format));
  EXPECT_EQ(info.opset, options.opset);
  EXPECT_EQ(info.stage, "w4");
  EXPECT_TRUE(info.prefix.empty());

  // An earlier export is replaced; a bad request leaves it as it was.
  options.format = OnnxFormat::kQdq;
  export_onnx(model, out.string(), options);
  EXPECT_EQ(nlohmann::json::parse(util::read_file((out / "model.json").string())).at("onnx_format"),
            "qdq");
  options.opset = 99;
  EXPECT_THROW(export_onnx(model, out.string(), options), std::invalid_argument);
  EXPECT_EQ(nlohmann::json::parse(util::read_file((out / "model.json").string())).at("onnx_format"),
            "qdq");

  // A foreign non-empty folder is refused unless forced.
  const fs::path foreign = root_ / "foreign";
  fs::create_directories(foreign);
  std::ofstream(foreign / "notes.txt") << "mine";
  options.opset = 13;
  EXPECT_THROW(export_onnx(model, foreign.string(), options), util::FileError);
  EXPECT_TRUE(fs::exists(foreign / "notes.txt"));
  options.force = true;
  export_onnx(model, foreign.string(), options);
  EXPECT_TRUE(fs::exists(foreign / "model.onnx"));
  EXPECT_FALSE(fs::exists(foreign / "notes.txt"));
}

}  // namespace
}  // namespace lowbit::exporter
