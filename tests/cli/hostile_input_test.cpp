// The crafted inputs of issue 12, given to the `lowbit` program as a user would: each must end
// with exit status 1 and one short "lowbit: error: " line naming the file (and line, key, sample
// or split), before any epoch runs and without writing a checkpoint anywhere. The readers' own
// tests check the details (memory, exact messages); these check the whole path through the CLI.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cli/run_lowbit.h"
#include "data/test_files.h"
#include "data/zip_writer.h"
#include "lowbit/data/files/npy.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;
using data::testing::be32;
using testing::quoted;
using testing::run_lowbit;
using testing::TempDir;

// An IDX image file of n images of h x w bytes (n may be 0: a header only).
std::string idx_images(uint32_t n, uint32_t h, uint32_t w) {
  std::string bytes = be32(0x00000803) + be32(n) + be32(h) + be32(w);
  for (uint32_t i = 0; i < n * h * w; ++i) bytes.push_back(static_cast<char>(i * 7));
  return bytes;
}

std::string idx_labels(uint32_t n) {
  std::string bytes = be32(0x00000801) + be32(n);
  for (uint32_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(i % 2));
  return bytes;
}

// A CSV of `rows` rows "i,i%2" after a header "a,label", then `tail`.
std::string csv(int rows, const std::string& tail = "") {
  std::string text = "a,label\n";
  for (int i = 0; i < rows; ++i) text += std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  return text + tail;
}

class HostileInputTest : public ::testing::Test {
 protected:
  void write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ / name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
  }
  // A one-stage run config reading `data`, with `stage_extra` in the stage and `top_extra` after.
  std::string config(const std::string& name, const std::string& data,
                     const std::string& stage_extra = "", const std::string& top_extra = "") {
    write(name, "output: " + (dir_ / ("out_" + name)) + "\ndata: " + data +
                    "\nmodel: {type: mlp, widths: [4]}\nstages:\n  - name: fp\n    epochs: 1\n"
                    "    batch_size: 16\n    optimizer: {type: adam, lr: 0.01}\n" +
                    stage_extra + top_extra);
    return dir_ / name;
  }
  std::string csv_data(const std::string& file, const std::string& extra = "") {
    return "{source: csv, train: " + (dir_ / file) + ", label_column: label" + extra + "}";
  }
  // Runs `lowbit ARGS`: exit 1, one short error naming every fragment, no epoch, no checkpoint.
  void expect_refused(const std::string& args, const std::vector<std::string>& fragments) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_lowbit(args);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(r.code, 1) << args << "\n" << r.err.substr(0, 300);
    EXPECT_EQ(r.err.rfind("lowbit: error: ", 0), 0u) << r.err.substr(0, 300);
    EXPECT_LT(r.err.size(), 1000u) << r.err.substr(0, 300);
    for (const std::string& fragment : fragments) {
      EXPECT_NE(r.err.find(fragment), std::string::npos) << "missing: " << fragment << "\n"
                                                         << r.err.substr(0, 300);
    }
    EXPECT_EQ(r.out.find("fp 1/"), std::string::npos) << "an epoch ran: " << r.out;
    EXPECT_LT(seconds, 30.0) << args;
    for (const auto& entry : fs::recursive_directory_iterator(dir_.path())) {
      EXPECT_NE(entry.path().extension(), ".pt") << entry.path() << " written by " << args;
    }
  }
  TempDir dir_;
};

// Defects 9, 14 and 6 through the `mnist_like` source (IDX files).
TEST_F(HostileInputTest, IdxFoldersWithoutSamplesOtherImageSizesOrABombAreRefused) {
  write("mn/train-images-idx3-ubyte", idx_images(40, 4, 4));
  write("mn/train-labels-idx1-ubyte", idx_labels(40));
  write("mn/t10k-images-idx3-ubyte", idx_images(10, 3, 3));
  write("mn/t10k-labels-idx1-ubyte", idx_labels(10));
  expect_refused(
      "train " + quoted(config("shape.yaml", "{source: mnist_like, dir: " + (dir_ / "mn") + "}")),
      {"training data '" + (dir_ / "mn") + ":train' has samples of shape [40, 1, 4, 4]",
       "test data '" + (dir_ / "mn") + ":test' has [10, 1, 3, 3]"});

  write("mn0/train-images-idx3-ubyte", idx_images(0, 4, 4));
  write("mn0/train-labels-idx1-ubyte", idx_labels(0));
  expect_refused(
      "train " + quoted(config("empty.yaml", "{source: mnist_like, dir: " + (dir_ / "mn0") + "}")),
      {dir_ / "mn0/train-images-idx3-ubyte", "no data"});

  // A header that promises 60000 28x28 images in a gzip file of a few dozen bytes.
  std::string liar = idx_images(1, 1, 1);
  liar.replace(4, 12, be32(60000) + be32(28) + be32(28));
  const std::string gz = dir_ / "gz/train-images-idx3-ubyte.gz";
  fs::create_directories(dir_ / "gz");
  data::testing::write_gzip(gz, liar);
  write("gz/train-labels-idx1-ubyte", idx_labels(60000));
  expect_refused(
      "train " + quoted(config("gz.yaml", "{source: mnist_like, dir: " + (dir_ / "gz") + "}")),
      {gz, "more than this gzip file"});
}

// Defects 7, 9, 10, 13 and 17 through the `csv` source.
TEST_F(HostileInputTest, CsvFilesWithBadValuesOrTooFewRowsAreRefused) {
  write("tiny.csv", csv(4));
  expect_refused("train " + quoted(config("tiny.yaml", csv_data("tiny.csv", ", stratify: false"))),
                 {dir_ / "tiny.csv", "the validation split is empty"});
  write("wide.csv", csv(30, "1e39,0\n"));
  expect_refused("train " + quoted(config("wide.yaml", csv_data("wide.csv"))),
                 {dir_ / "wide.csv:32: column 'a'", "float32 range"});
  write("classes.csv", csv(30, "1,1e12\n"));
  expect_refused("train " + quoted(config("classes.yaml", csv_data("classes.csv"))),
                 {dir_ / "classes.csv:32: column 'label'", "0..65535"});
  write("floats.csv", "a,label\n" + std::string("1,0.5\n2,0\n3,1\n4,0.25\n5,0\n6,1\n7,0\n"));
  expect_refused(
      "train " + quoted(config("floats.yaml", csv_data("floats.csv", ", integer_labels: false"),
                               "    loss: {type: cross_entropy}\n")),
      {"stage 'fp'", "cross_entropy", dir_ / "floats.csv", "float targets"});
  write("fat.csv", "a,label\n" + std::string(5000000, '7') + "z,0\n");
  expect_refused("train " + quoted(config("fat.yaml", csv_data("fat.csv"))),
                 {dir_ / "fat.csv:2: column 'a'", "(5000001 bytes)"});
}

// Defects 6, 10 and 13 through the `npy` source.
TEST_F(HostileInputTest, NpyAndNpzInputsWithNanABombOrAFolderAreRefused) {
  torch::Tensor x = torch::ones({20, 3});
  x[6][2] = std::numeric_limits<float>::quiet_NaN();
  data::write_npy(dir_ / "nan.npy", x);
  data::write_npy(dir_ / "y.npy", torch::arange(20, torch::kInt64) % 2);
  expect_refused(
      "train " + quoted(config("nan.yaml", "{source: npy, inputs: " + (dir_ / "nan.npy") +
                                               ", targets: " + (dir_ / "y.npy") + "}")),
      {dir_ / "nan.npy", "NaN at sample 6, element 2"});

  // 116 packed bytes that declare 1.2 GB once inflated.
  data::testing::Member bomb{"x.npy", data::npy_bytes(torch::ones({20, 3}), "x"), 8};
  bomb.declared_size = 1200000000;
  write("bomb.npz", data::testing::zip_bytes({bomb}));
  expect_refused(
      "train " + quoted(config("bomb.yaml", "{source: npy, inputs: " + (dir_ / "bomb.npz") +
                                                ":x, targets: " + (dir_ / "y.npy") + "}")),
      {dir_ / "bomb.npz", "x.npy", "declares 1200000000 bytes"});

  fs::create_directories(dir_ / "folder.npz");
  expect_refused(
      "train " + quoted(config("folder.yaml", "{source: npy, inputs: " + (dir_ / "folder.npz") +
                                                  ":x, targets: " + (dir_ / "y.npy") + "}")),
      {dir_ / "folder.npz: is a folder"});
}

// Defects 3, 4, 8, 15, 16 and the absurd `epochs` through the config file and --set.
TEST_F(HostileInputTest, HostileConfigsAreRefusedWithFileAndLine) {
  write("ok.csv", csv(40));
  const std::string data = csv_data("ok.csv");
  const std::string alias = config("alias.yaml", data, "", "extra: &e [*e]\n");
  expect_refused("train " + quoted(alias), {alias + ":9:8", "recursive alias"});

  std::string laughs = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 9; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) laughs += (j ? ", *a" : "*a") + std::to_string(i - 1);
    laughs += "]\n";
  }
  write("laughs.yaml", laughs);
  expect_refused("train " + quoted(dir_ / "laughs.yaml"),
                 {dir_ / "laughs.yaml: more than 200000 values with every alias expanded"});

  const std::string repeated = config("repeated.yaml", data, "", "seed: 1\nseed: 2\n");
  expect_refused("train " + quoted(repeated),
                 {repeated + ":10:1: `seed`: repeated key (first at " + repeated + ":9:1)"});

  std::string items;
  while (items.size() < 10u * 1000 * 1000) items += "- 123456789\n";
  write("big.yaml", items);
  expect_refused("train " + quoted(dir_ / "big.yaml"),
                 {dir_ / "big.yaml: the config file is larger than the limit of 1048576 bytes"});

  const std::string plain = config("plain.yaml", data);
  expect_refused("train " + quoted(plain) + " --set stages.0.name=..",
                 {"--set stages[0].name: `stages[0].name`: expected 1 to 64 letters"});
  expect_refused("train " + quoted(plain) + " --set stages.0.name=a/b", {"`stages[0].name`"});
  expect_refused(
      "train " + quoted(plain) + " --set stages.0.epochs=9223372036854775807",
      {"--set stages[0].epochs: `stages[0].epochs`: expected an integer in [1, 1000000], got "
       "9223372036854775807"});

  // A run directory whose saved config.yaml was tampered with (defect 3 as found).
  write("run/config.yaml", "seed: 1\nstages: &s [{name: fp}, *s]\n");
  fs::create_directories(dir_ / "run/fp");
  const std::string saved = dir_ / "run/config.yaml";
  expect_refused("size " + quoted(dir_ / "run") + " --stage fp",
                 {saved + ":2:9", "recursive alias"});
  expect_refused("export " + quoted(dir_ / "run") + " --stage fp --out " + quoted(dir_ / "export"),
                 {saved + ":2:9", "recursive alias"});
  expect_refused("train " + quoted(saved) + " --resume", {saved + ":2:9", "recursive alias"});
  EXPECT_FALSE(testing::exists(dir_ / "export"));
}

}  // namespace
}  // namespace lowbit::cli
