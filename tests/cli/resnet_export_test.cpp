// A residual network through the whole path: `lowbit train` (a reduced-width resnet20 with one
// block per stage: an identity shortcut in stage 1, strided 1x1 projections in stages 2 and 3;
// batch norms folded at the quantized stage's first epoch) -> `lowbit export` -> `lowbit verify`
// (0 mismatches between the C and the C++ reference). One trained run is shared by the tests.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "cli/quadrant_images.h"
#include "cli/run_lowbit.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

using testing::run_lowbit;
using testing::TempDir;

class ResNetExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    // CIFAR-shaped 3x32x32 images of four classes (a bright quadrant in one colour plane each)
    // plus noise.
    testing::write_quadrant_images(dir_->path(), 48, 3, 32, 4, 7);
    run_ = *dir_ / "resnet";
    const std::string dir = dir_->path();
    util::write_text_atomically(
        run_ + ".yaml", "output: " + run_ + "\nthreads: 1\nseed: 3\n" +
                            "data: {source: npy, inputs: " + dir + "/images.npy, targets: " + dir +
                            "/labels.npy}\n"
                            "model: {type: resnet20, widths: [4, 8, 8], blocks: [1, 1, 1]}\n"
                            "stages:\n"
                            "  - name: fp\n    epochs: 1\n    batch_size: 16\n"
                            "    optimizer: {type: adam, lr: 0.01}\n"
                            "  - name: q\n    from: fp\n    epochs: 1\n    batch_size: 16\n"
                            "    optimizer: {type: adam, lr: 0.001}\n"
                            "    events:\n      - {at: 0, action: fold_batchnorm}\n"
                            "    quantization:\n"
                            "      weights: \"uniform:bits=4,narrow=1,per_channel=1\"\n"
                            "      activations: \"uniform:bits=8\"\n"
                            "      layers:\n"
                            "        - {match: \"*.conv2\", outputs: \"uniform:bits=8\"}\n"
                            "        - {match: \"*.shortcut.0\", outputs: \"uniform:bits=8\"}\n"
                            "        - {match: fc, outputs: \"uniform:bits=8\"}\n");
    train_ = run_lowbit("train '" + run_ + ".yaml'");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static std::unique_ptr<TempDir> dir_;
  static std::string run_;
  static testing::RunResult train_;
};

std::unique_ptr<TempDir> ResNetExport::dir_;
std::string ResNetExport::run_;
testing::RunResult ResNetExport::train_;

TEST_F(ResNetExport, TrainExportVerifyHasZeroMismatches) {
  ASSERT_EQ(train_.code, 0) << train_.err << train_.out;
  EXPECT_NE(train_.out.find("folded 9 batch norm(s)"), std::string::npos) << train_.out;
  const auto e = run_lowbit("export '" + run_ + "' --stage q --out '" + run_ + "_export'");
  ASSERT_EQ(e.code, 0) << e.err << e.out;
  const std::string json = util::read_file(run_ + "_export/model.json");
  // Three residual adds, the strided projections and the global average pool are in the model.
  for (const char* name : {"\"layer1.0.add\"", "\"layer2.0.add\"", "\"layer3.0.add\"",
                           "\"layer2.0.shortcut.0\"", "\"avgpool\""}) {
    EXPECT_NE(json.find(name), std::string::npos) << name;
  }
  const auto v = run_lowbit("verify '" + run_ + "_export' --run '" + run_ + "'");
  ASSERT_EQ(v.code, 0) << v.err << v.out;
  EXPECT_NE(v.out.find("mismatches (C vs C++ reference): 0 of "), std::string::npos) << v.out;
}

TEST_F(ResNetExport, OnnxRefusesTheAddNamingTheLayer) {
  ASSERT_EQ(train_.code, 0) << train_.err << train_.out;
  const auto e =
      run_lowbit("export '" + run_ + "' --stage q --format qdq --out '" + run_ + "_onnx'");
  EXPECT_NE(e.code, 0);
  EXPECT_NE(e.err.find("layer 'layer1.0.add'"), std::string::npos) << e.err << e.out;
}

}  // namespace
}  // namespace lowbit::cli
