// `lowbit export`, `verify` and `size`, run as programs on a run trained once on a tiny CSV set.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "cli/run_lowbit.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

using testing::csv_run_config;
using testing::exists;
using testing::quoted;
using testing::run_lowbit;
using testing::TempDir;
using testing::write_three_class_csv;

class ExportCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    // Three classes in the plane, written without randomness.
    write_three_class_csv(*dir_ / "data.csv");
    util::write_text_atomically(*dir_ / "run.yaml",
                                csv_run_config(*dir_ / "run", *dir_ / "data.csv", R"(
model: {type: mlp, widths: [8]}
stages:
  - name: fp
    epochs: 2
    batch_size: 16
    optimizer: {type: adam, lr: 0.02}
  - name: w4a8
    from: fp
    epochs: 3
    batch_size: 16
    optimizer: {type: adam, lr: 0.01}
    quantization:
      weights: "sym:bits=4"
      activations: "uniform:bits=8"
      layers:
        - {match: fc1, inputs: "uniform:bits=8"}
        - {match: fc2, outputs: "uniform:bits=8"}
)"));
    train_ = run_lowbit("train '" + (*dir_ / "run.yaml") + "'");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override { ASSERT_EQ(train_.code, 0) << train_.err << train_.out; }

  static std::unique_ptr<TempDir> dir_;
  static testing::RunResult train_;
};

std::unique_ptr<TempDir> ExportCommandTest::dir_;
testing::RunResult ExportCommandTest::train_;

TEST_F(ExportCommandTest, TrainSavesTheConfig) {
  const std::string saved = util::read_file(*dir_ / "run/config.yaml");
  EXPECT_NE(saved.find("w4a8"), std::string::npos) << saved;
  EXPECT_NE(saved.find("fc1"), std::string::npos) << saved;
}

TEST_F(ExportCommandTest, ExportVerifyAndSizeAgree) {
  const auto e = run_lowbit("export '" + (*dir_ / "run") + "' --stage w4a8 --out '" +
                            (*dir_ / "export") + "' --prefix tiny");
  ASSERT_EQ(e.code, 0) << e.err << e.out;
  EXPECT_NE(e.out.find("layers: 2"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("flash bytes: "), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("MACs: 40"), std::string::npos) << e.out;  // 2*8 + 8*3
  for (const char* file : {"model.h", "model.c", "model.json", "runtime/include"}) {
    EXPECT_TRUE(exists(*dir_ / ("export/" + std::string(file)))) << file;
  }
  const std::string json = util::read_file(*dir_ / "export/model.json");
  EXPECT_NE(json.find("\"stage\": \"w4a8\""), std::string::npos) << json.substr(0, 600);
  EXPECT_NE(util::read_file(*dir_ / "export/model.h").find("tiny_predict"), std::string::npos);

  const auto v = run_lowbit("verify '" + (*dir_ / "export") + "' --run '" + (*dir_ / "run") + "'");
  ASSERT_EQ(v.code, 0) << v.err << v.out;
  EXPECT_NE(v.out.find("mismatches (C vs C++ reference): 0 of 90 values"), std::string::npos)
      << v.out;  // 30 test samples, 3 outputs
  EXPECT_NE(v.out.find("top-1 agreement (C vs fake-quantized model): "), std::string::npos);
  EXPECT_NE(v.out.find("C model accuracy: "), std::string::npos) << v.out;

  const auto s = run_lowbit("size '" + (*dir_ / "run") + "' --stage w4a8");
  ASSERT_EQ(s.code, 0) << s.err << s.out;
  EXPECT_NE(s.out.find("total: 51 parameters"), std::string::npos) << s.out;  // 2*8+8 + 8*3+3
  EXPECT_NE(s.out.find("FP32 weights: 204 bytes"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("fc1"), std::string::npos) << s.out;
  const auto from_export = run_lowbit("size '" + (*dir_ / "export") + "'");
  ASSERT_EQ(from_export.code, 0) << from_export.err;
  EXPECT_EQ(from_export.out, s.out);

  const auto from_checkpoint = run_lowbit("export '" + (*dir_ / "run/w4a8/best.pt") + "' --out '" +
                                          (*dir_ / "export2") + "'");
  ASSERT_EQ(from_checkpoint.code, 0) << from_checkpoint.err;
  EXPECT_TRUE(exists(*dir_ / "export2/model.c"));
}

TEST_F(ExportCommandTest, ResultsTableHasTheSizeColumns) {
  const std::string md = util::read_file(*dir_ / "run/results.md");
  EXPECT_NE(md.find("flash bytes"), std::string::npos) << md;
  EXPECT_NE(md.find("MACs"), std::string::npos) << md;
  const auto s = run_lowbit("size '" + (*dir_ / "run") + "' --stage w4a8");
  ASSERT_EQ(s.code, 0) << s.err;
  const std::string key = "parameters, flash ";
  const size_t at = s.out.find(key);
  ASSERT_NE(at, std::string::npos) << s.out;
  const size_t start = at + key.size();
  const std::string flash = s.out.substr(start, s.out.find(' ', start) - start);
  const std::string json = util::read_file(*dir_ / "run/results.json");
  // w4a8 has an integer model: `lowbit size`'s flash bytes; fp shows 51 parameters x 4 bytes, and
  // both the 40 MACs of the architecture.
  EXPECT_NE(json.find("\"flash_bytes\": " + flash), std::string::npos) << flash << json;
  EXPECT_NE(json.find("\"flash_bytes\": 204"), std::string::npos) << json;
  EXPECT_NE(json.find("\"flash_form\": \"fp32\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"flash_form\": \"int\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"macs\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"macs\": 40"), std::string::npos) << json;
}

TEST_F(ExportCommandTest, BadInputsFailWithMessages) {
  const auto missing =
      run_lowbit("export '" + (*dir_ / "nowhere") + "' --stage w4a8 --out '" + (*dir_ / "x") + "'");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("nowhere' does not exist"), std::string::npos) << missing.err;

  const auto unknown =
      run_lowbit("export '" + (*dir_ / "run") + "' --stage w9 --out '" + (*dir_ / "x") + "'");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("w9"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("w4a8"), std::string::npos) << unknown.err;

  const auto fp =
      run_lowbit("export '" + (*dir_ / "run") + "' --stage fp --out '" + (*dir_ / "x") + "'");
  EXPECT_EQ(fp.code, 1);
  EXPECT_EQ(fp.err.rfind("lowbit: error: ", 0), 0u) << fp.err;
  EXPECT_NE(fp.err.find("layer 'fc1'"), std::string::npos) << fp.err;
  EXPECT_NE(fp.err.find("inputs: \"uniform:bits=8\""), std::string::npos) << fp.err;
  EXPECT_FALSE(exists(*dir_ / "x"));

  const auto no_export =
      run_lowbit("verify '" + (*dir_ / "run") + "' --run '" + (*dir_ / "run") + "'");
  EXPECT_EQ(no_export.code, 1);
  EXPECT_NE(no_export.err.find("model.json' does not exist"), std::string::npos) << no_export.err;
}

TEST_F(ExportCommandTest, OutNeverReplacesTheRunOrForeignData) {
  const std::string run = *dir_ / "run";
  const std::string export_run = "export " + quoted(run) + " --stage w4a8 --out ";
  for (const std::string& out : {run, run + "/", run + "/w4a8", dir_->path()}) {
    for (const char* force : {"", " --force"}) {
      const auto r = run_lowbit(export_run + quoted(out) + force);
      EXPECT_EQ(r.code, 1) << out << force;
      EXPECT_NE(r.err.find("refusing to replace"), std::string::npos) << r.err;
    }
  }
  EXPECT_TRUE(exists(run + "/w4a8/best.pt"));
  EXPECT_TRUE(exists(run + "/config.yaml"));
  // The same through a checkpoint file as the source.
  const auto from_checkpoint =
      run_lowbit("export " + quoted(run + "/w4a8/best.pt") + " --out " + quoted(run) + " --force");
  EXPECT_EQ(from_checkpoint.code, 1);
  EXPECT_TRUE(exists(run + "/w4a8/best.pt"));

  util::write_text_atomically(*dir_ / "file.txt", "keep me");
  auto r = run_lowbit(export_run + quoted(*dir_ / "file.txt") + " --force");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("it is a file"), std::string::npos) << r.err;
  EXPECT_EQ(util::read_file(*dir_ / "file.txt"), "keep me");

  std::filesystem::create_directories(*dir_ / "mine");
  util::write_text_atomically(*dir_ / "mine/notes.txt", "mine");
  r = run_lowbit(export_run + quoted(*dir_ / "mine"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("pass --force"), std::string::npos) << r.err;
  EXPECT_EQ(util::read_file(*dir_ / "mine/notes.txt"), "mine");
  r = run_lowbit(export_run + quoted(*dir_ / "mine") + " --force");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(exists(*dir_ / "mine/notes.txt"));
  EXPECT_TRUE(exists(*dir_ / "mine/.lowbit-export"));
  // An earlier export is replaced without --force.
  r = run_lowbit(export_run + quoted(*dir_ / "mine") + " --prefix again");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(util::read_file(*dir_ / "mine/model.h").find("again_predict"), std::string::npos);

  const auto help = run_lowbit("export --help");
  EXPECT_NE(help.out.find("--force"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find(".lowbit-export"), std::string::npos) << help.out;
}

TEST_F(ExportCommandTest, DamagedCheckpointFailsExportAndVerify) {
  const std::string run = *dir_ / "run";
  const std::string copy = *dir_ / "damaged_run";
  std::filesystem::copy(run, copy, std::filesystem::copy_options::recursive);
  const std::string best = copy + "/w4a8/best.pt";
  // Flip the sign of the first four values of the largest float tensor, in the file's bytes.
  const train::Checkpoint checkpoint = train::load_checkpoint(best);
  torch::Tensor largest;
  for (const auto& item : checkpoint.model) {
    const torch::Tensor& t = item.value();
    if (t.scalar_type() == torch::kFloat && (!largest.defined() || t.numel() > largest.numel())) {
      largest = t.contiguous();
    }
  }
  ASSERT_TRUE(largest.defined() && largest.numel() >= 4);
  const std::string raw(static_cast<const char*>(largest.data_ptr()), 16);
  std::string bytes = util::read_file(best);
  const size_t at = bytes.find(raw);
  ASSERT_NE(at, std::string::npos);
  for (size_t i = 3; i < 16; i += 4) bytes[at + i] ^= static_cast<char>(0x80);
  std::ofstream(best, std::ios::binary | std::ios::trunc) << bytes;

  const auto e =
      run_lowbit("export " + quoted(copy) + " --stage w4a8 --out " + quoted(*dir_ / "damaged"));
  EXPECT_EQ(e.code, 1);
  EXPECT_NE(e.err.find("checkpoint '" + best + "' fails its integrity check"), std::string::npos)
      << e.err;
  EXPECT_FALSE(exists(*dir_ / "damaged"));

  ASSERT_EQ(
      run_lowbit("export " + quoted(run) + " --stage w4a8 --out " + quoted(*dir_ / "good")).code,
      0);
  const auto v = run_lowbit("verify " + quoted(*dir_ / "good") + " --run " + quoted(copy));
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.err.find("fails its integrity check"), std::string::npos) << v.err;
}

TEST_F(ExportCommandTest, BrokenModelJsonIsAnErrorNamingIt) {
  const std::string run = *dir_ / "run";
  const std::string out = *dir_ / "json_export";
  ASSERT_EQ(run_lowbit("export " + quoted(run) + " --stage w4a8 --out " + quoted(out)).code, 0);
  const std::string json_path = out + "/model.json";
  const std::string good = util::read_file(json_path);
  const auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {good.substr(0, 40), "not valid JSON"},
           {"{\"format\": \"lowbit-integer-model\", \"version\": 1}", "'prefix' (missing)"},
           {replaced("\"prefix\": \"model\"", "\"prefix\": \"x); system(\\\"id\\\"); (void)(x\""),
            "key 'prefix': codegen: prefix 'x); system(\"id\"); (void)(x' is not a C identifier"},
           {replaced("\"stage\": \"w4a8\"", "\"stage\": 4"), "'provenance.stage', got 4"},
       }) {
    util::write_text_atomically(json_path, text);
    for (const std::string& command :
         {"verify " + quoted(out) + " --run " + quoted(run), "size " + quoted(out)}) {
      const auto r = run_lowbit(command);
      EXPECT_EQ(r.code, 1) << command;
      EXPECT_EQ(r.err.rfind("lowbit: error: '" + json_path + "': ", 0), 0u) << r.err;
      EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    }
  }
}

// An export copied away from its run: `lowbit size` reads the figures its model.json records, and
// warns when the run it can reach lowers to another size than the export recorded.
TEST_F(ExportCommandTest, SizeOfAnExportReadsItsModelJsonWhenTheRunIsGone) {
  const std::string run = *dir_ / "run_to_remove";
  std::filesystem::copy(*dir_ / "run", run, std::filesystem::copy_options::recursive);
  const std::string out = *dir_ / "export_kept";
  ASSERT_EQ(run_lowbit("export " + quoted(run) + " --stage w4a8 --out " + quoted(out)).code, 0);
  const auto with_run = run_lowbit("size " + quoted(out));
  ASSERT_EQ(with_run.code, 0) << with_run.err;
  const auto total = [](const std::string& text) {
    const size_t line = text.find("total: ");
    const size_t at = text.find("flash ", line);
    if (line == std::string::npos || at == std::string::npos) return std::string();
    return text.substr(at, text.find('\n', at) - at);
  };
  ASSERT_NE(total(with_run.out), "") << with_run.out;
  EXPECT_EQ(with_run.out.find("warning"), std::string::npos) << with_run.out;

  std::string json = util::read_file(out + "/model.json");
  const std::string recorded = "\"flash_bytes\": ";
  const size_t last = json.rfind(recorded);  // the totals of "sizes" come after the layers
  ASSERT_NE(last, std::string::npos);
  const std::string stale =
      json.substr(0, last + recorded.size()) + "1" + json.substr(last + recorded.size());
  util::write_text_atomically(out + "/model.json", stale);
  const auto warned = run_lowbit("size " + quoted(out));
  ASSERT_EQ(warned.code, 0) << warned.err;
  EXPECT_NE(warned.out.find("the export is older than the run's checkpoint"), std::string::npos)
      << warned.out;
  util::write_text_atomically(out + "/model.json", json);

  std::filesystem::remove_all(run);
  const auto without_run = run_lowbit("size " + quoted(out));
  ASSERT_EQ(without_run.code, 0) << without_run.err << without_run.out;
  EXPECT_NE(without_run.out.find("from its model.json"), std::string::npos) << without_run.out;
  // The same totals as computed from the run, and the same per-layer rows' flash.
  EXPECT_EQ(total(without_run.out), total(with_run.out));
  EXPECT_NE(without_run.out.find("fc1"), std::string::npos) << without_run.out;
  EXPECT_NE(without_run.out.find("fc2"), std::string::npos) << without_run.out;

  // A damaged size entry is an error naming the file and the key.
  const size_t key = json.find("\"macs\": ");
  util::write_text_atomically(
      out + "/model.json", json.substr(0, key) + "\"macs\": -5, \"was\": " + json.substr(key + 8));
  const auto damaged = run_lowbit("size " + quoted(out));
  EXPECT_NE(damaged.code, 0);
  EXPECT_NE(damaged.err.find("model.json"), std::string::npos) << damaged.err;
  EXPECT_NE(damaged.err.find("macs"), std::string::npos) << damaged.err;
}

}  // namespace
}  // namespace lowbit::cli
