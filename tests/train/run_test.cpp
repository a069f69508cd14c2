#include "lowbit/train/run.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/util/atomic_file.h"
#include "train/train_fixtures.h"

namespace lowbit::train {
namespace {

class RunTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    at::set_num_threads(1);
    data::Dataset d = testing::blobs(240, 4, true);
    std::ofstream csv(path("blobs.csv"));
    csv << "x,y,label\n";
    for (int64_t i = 0; i < d.size(); ++i) {
      csv << d.inputs[i][0].item<float>() << "," << d.inputs[i][1].item<float>() << ","
          << d.targets[i].item<int64_t>() << "\n";
    }
    csv.close();
    std::ofstream cfg(path("run.yaml"));
    cfg << "seed: 3\noutput: " << path("out") << R"(
data: {source: csv, train: )"
        << path("blobs.csv") << R"(, label_column: label}
model: {type: mlp, widths: [8]}
stages:
  - name: fp
    epochs: 2
    batch_size: 32
    optimizer: {type: adam, lr: 0.02}
  - name: w4
    from: fp
    strict: true
    epochs: 2
    batch_size: 32
    optimizer: {type: adam, lr: 0.005}
    quantization: {weights: "uniform:bits=4", activations: "uniform:bits=8,signed=0"}
)";
  }
  RunSummary run(const std::vector<std::string>& overrides, RunOptions options = {}) {
    options.log = &log_;
    return run_training(load_run_config(path("run.yaml"), overrides), options);
  }
  std::ostringstream log_;
};

int lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

TEST_F(RunTest, TwoStagesEndToEnd) {
  RunSummary summary = run({});
  EXPECT_TRUE(summary.stopped.empty());
  ASSERT_EQ(summary.results.size(), 2u);
  EXPECT_EQ(summary.results[0].stage, "fp");
  EXPECT_EQ(summary.results[0].bits, "fp");
  EXPECT_EQ(summary.results[1].bits, "w4 a8");
  EXPECT_LT(summary.results[1].weight_bytes, summary.results[0].weight_bytes);
  EXPECT_GT(summary.results[1].test.accuracy, 0.8);
  EXPECT_GT(summary.results[1].test.auc, 0.85);

  const std::string log = log_.str();
  EXPECT_NE(log.find("data: 172 training, 20 validation, 48 test samples"), std::string::npos)
      << log;
  EXPECT_NE(log.find("Warm start of stage 'w4' from stage 'fp'"), std::string::npos);
  EXPECT_NE(log.find("Copied: 4  Skipped: 0"), std::string::npos) << log;
  EXPECT_NE(log.find("fc1 (QLinear): weights=uniform:bits=4"), std::string::npos);

  EXPECT_EQ(lines(util::read_file(path("out/metrics.csv"))), 5);
  const std::string md = util::read_file(path("out/results.md"));
  EXPECT_NE(md.find("| fp "), std::string::npos) << md;
  EXPECT_NE(md.find("| w4 "), std::string::npos) << md;
  EXPECT_NE(md.find("weight bytes"), std::string::npos);
  auto json = nlohmann::json::parse(util::read_file(path("out/results.json")));
  ASSERT_EQ(json["stages"].size(), 2u);
  EXPECT_EQ(json["stages"][1]["stage"], "w4");
  EXPECT_EQ(json["stages"][1]["epochs"], 2);
  EXPECT_EQ(json["stages"][1]["bits"], "w4 a8");
  EXPECT_EQ(stage_result_from_json(json["stages"][1]).test.accuracy,
            summary.results[1].test.accuracy);
  EXPECT_TRUE(load_checkpoint(path("out/w4/best.pt")).epoch >= 0);
}

TEST_F(RunTest, SingleStageAndResumeSkipCompletedStages) {
  run({});
  const std::string fp_result = util::read_file(path("out/fp/result.json"));
  log_.str("");
  RunOptions only;
  only.only_stage = "w4";
  RunSummary summary = run({"stages.1.epochs=3"}, only);
  EXPECT_EQ(log_.str().find("== stage 'fp'"), std::string::npos);
  EXPECT_NE(log_.str().find("== stage 'w4'"), std::string::npos);
  EXPECT_EQ(util::read_file(path("out/fp/result.json")),
            fp_result);                   // untouched
  ASSERT_EQ(summary.results.size(), 2u);  // table has both
  EXPECT_EQ(summary.results[1].epochs_run, 3);

  log_.str("");
  RunOptions resume;
  resume.resume = true;
  run({"stages.1.epochs=3"}, resume);
  EXPECT_NE(log_.str().find("stage 'fp': already completed, skipped"), std::string::npos);
  EXPECT_NE(log_.str().find("stage 'w4': already completed, skipped"), std::string::npos);
}

TEST_F(RunTest, ResumeRemovesTemporariesOfAKilledSave) {
  run({});
  // A process that is gone for sure: a child that has exited and been reaped.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  const std::string dead = std::to_string(child);
  const std::string stale = path("out/fp/last.pt.tmp." + dead);
  const std::string stale_run = path("out/results.json.tmp." + dead);
  const std::string live = path("out/fp/last.pt.tmp." + std::to_string(::getpid()));
  const std::string other = path("out/fp/notes.tmp.txt");
  for (const std::string& file : {stale, stale_run, live, other}) std::ofstream(file) << "x";
  log_.str("");
  RunOptions resume;
  resume.resume = true;
  run({}, resume);
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_FALSE(std::filesystem::exists(stale_run));
  EXPECT_TRUE(std::filesystem::exists(live));  // its process is running: not ours to remove
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_NE(log_.str().find("removed '" + stale + "'"), std::string::npos) << log_.str();
}

TEST_F(RunTest, MissingFromStageCheckpointIsAClearError) {
  RunOptions only;
  only.only_stage = "w4";
  try {
    run({}, only);
    FAIL() << "expected an error";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("run that stage first"), std::string::npos);
  }
  RunOptions bad;
  bad.only_stage = "nope";
  EXPECT_THROW(run({}, bad), config::ConfigError);
}

TEST_F(RunTest, RunFolderPathThroughAFileIsAClearErrorThatLeavesTheFileAlone) {
  {
    std::ofstream file(path("notes.txt"));
    file << "my notes\n";
  }
  for (const std::string& out : {path("notes.txt"), path("notes.txt") + "/run"}) {
    try {
      run({"output=" + out});
      FAIL() << "expected an error for " << out;
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("'" + path("notes.txt") + "' is a file, not a folder"), std::string::npos)
          << what;
    }
  }
  EXPECT_EQ(util::read_file(path("notes.txt")), "my notes\n");
  EXPECT_EQ(log_.str().find("data:"), std::string::npos) << "refused before loading the data";
}

TEST_F(RunTest, DistillationFromAnEarlierStageWithBinRegularization) {
  std::ofstream extra(path("run.yaml"), std::ios::app);
  extra << R"(    regularizers: [{type: bin, lambda: 0.1}]
    methods: {distill: {teacher: fp, alpha: 0.5, temperature: 2}}
)";
  extra.close();
  RunSummary summary = run({"stages.1.quantization.weights=lsq:bits=2"});
  ASSERT_EQ(summary.results.size(), 2u);
  EXPECT_TRUE(summary.stopped.empty());
  EXPECT_NE(log_.str().find("distillation teacher: " + path("out/fp/best.pt")), std::string::npos)
      << log_.str();
  EXPECT_GT(summary.results[1].test.accuracy, 0.8);

  // The teacher must have been trained: running only the student stage (here without a warm
  // start, so that the teacher is the first thing missing) fails naming the teacher.
  std::filesystem::remove_all(path("out"));
  RunOptions only;
  only.only_stage = "w4";
  try {
    run({"stages.1.from=\"\""}, only);
    FAIL() << "expected an error";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("the distillation teacher, stage 'fp'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("run that stage first"), std::string::npos);
  }
}

// A checkpoint file of another run teaches a student of another shape: the teacher is built from
// its own run's config.yaml (as a CNN teaches an MLP); a file outside a run folder is read with the
// student's model section, which does not fit here.
TEST_F(RunTest, DistillationFromAnotherRunsModel) {
  run({});  // teacher: mlp [8], RUN = out
  const std::string teacher = path("out/fp/best.pt");
  std::ofstream cfg(path("student.yaml"));
  cfg << "seed: 3\noutput: " << path("student")
      << "\ndata: {source: csv, train: " << path("blobs.csv") << R"(, label_column: label}
model: {type: mlp, widths: [3]}
stages:
  - name: s
    epochs: 2
    batch_size: 32
    optimizer: {type: adam, lr: 0.02}
    methods: {distill: {teacher: ")"
      << teacher << R"(", alpha: 0.5, temperature: 2}}
)";
  cfg.close();
  log_.str("");
  RunOptions options;
  options.log = &log_;
  const RunSummary summary = run_training(load_run_config(path("student.yaml")), options);
  ASSERT_EQ(summary.results.size(), 1u);
  EXPECT_NE(log_.str().find("distillation teacher model: the model section of " +
                            path("out/config.yaml")),
            std::string::npos)
      << log_.str();
  EXPECT_GT(summary.results[0].test.accuracy, 0.7);

  std::filesystem::create_directories(path("loose"));
  std::filesystem::copy_file(teacher, path("loose/teacher.pt"));
  std::string text = util::read_file(path("student.yaml"));
  text.replace(text.find(teacher), teacher.size(), path("loose/teacher.pt"));
  util::write_text_atomically(path("student2.yaml"), text);
  try {
    run_training(load_run_config(path("student2.yaml")), options);
    FAIL() << "a teacher of another shape outside a run folder was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("loose/teacher.pt: the saved model state does not fit"),
              std::string::npos)
        << e.what();
  }
}

// A teacher of another architecture trained as a stage of the student's run (its own `model:`)
// teaches the next stage; a later run distilling from that stage's checkpoint file builds the
// teacher with the stage's section, not the run's.
TEST_F(RunTest, TeacherStageWithItsOwnModelTeachesInTheSameRun) {
  std::ofstream cfg(path("kd.yaml"));
  cfg << "seed: 3\noutput: " << path("kd") << "\ndata: {source: csv, train: " << path("blobs.csv")
      << R"(, label_column: label}
model: {type: mlp, widths: [3]}
stages:
  - name: teacher
    model: {type: mlp, widths: [16, 16]}
    epochs: 2
    batch_size: 32
    optimizer: {type: adam, lr: 0.02}
  - name: student
    epochs: 2
    batch_size: 32
    optimizer: {type: adam, lr: 0.02}
    methods: {distill: {teacher: teacher, alpha: 0.5, temperature: 2}}
)";
  cfg.close();
  RunOptions options;
  options.log = &log_;
  // A mistake in a later stage's model section, or in the run's that a later stage trains,
  // fails before the first stage trains and before the run directory is written.
  EXPECT_THROW(
      run_training(load_run_config(path("kd.yaml"), {"stages.1.model={type: mlp, widthz: [2]}"}),
                   options),
      config::ConfigError);
  EXPECT_THROW(run_training(load_run_config(path("kd.yaml"), {"model.widthz=[2]"}), options),
               config::ConfigError);
  EXPECT_FALSE(std::filesystem::exists(path("kd")));
  const RunSummary summary = run_training(load_run_config(path("kd.yaml")), options);
  ASSERT_EQ(summary.results.size(), 2u);
  // 2 -> 16 -> 16 -> 2 against 2 -> 3 -> 2 (the blobs: 2 features, 2 classes).
  EXPECT_EQ(summary.results[0].parameters, 2 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2);
  EXPECT_EQ(summary.results[1].parameters, 2 * 3 + 3 + 3 * 2 + 2);
  EXPECT_NE(log_.str().find("distillation teacher: " + path("kd/teacher/best.pt")),
            std::string::npos)
      << log_.str();
  // The size table is the deployed (last) stage's.
  EXPECT_NE(summary.table.find("model size by bit width (17 parameters)"), std::string::npos)
      << summary.table;

  std::string student = util::read_file(path("kd.yaml"));
  student.replace(student.find("teacher: teacher"), 16,
                  "teacher: \"" + path("kd/teacher/best.pt") + "\"");
  student.replace(student.find(path("kd") + "\n"), path("kd").size(), path("kd2"));
  student = student.substr(0, student.find("  - name: teacher")) +
            student.substr(student.find("  - name: student"));
  util::write_text_atomically(path("kd2.yaml"), student);
  log_.str("");
  const RunSummary second = run_training(load_run_config(path("kd2.yaml")), options);
  ASSERT_EQ(second.results.size(), 1u);
  EXPECT_NE(log_.str().find("distillation teacher: " + path("kd/teacher/best.pt")),
            std::string::npos)
      << log_.str();
}

TEST(StageSizes, IntegerStagesShowTheirCostOthersFp32BytesAndTheRunsMacs) {
  StageResult fp;
  fp.stage = "fp";
  fp.parameters = 51;
  StageResult q = fp;
  q.stage = "w4";
  StageResult bad = fp;
  bad.stage = "w9";
  const std::vector<StageSize> sizes =
      stage_sizes({fp, q, bad}, {std::nullopt, StageCost{123, 40}, std::nullopt});
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(sizes[0].flash, "204");  // 51 parameters x 4 bytes
  EXPECT_EQ(sizes[0].flash_form, "fp32");
  EXPECT_EQ(sizes[0].macs, "40");  // the architecture's MACs, from the integer stage
  EXPECT_EQ(sizes[1].flash, "123");
  EXPECT_EQ(sizes[1].flash_form, "int");
  EXPECT_EQ(sizes[1].macs, "40");
  EXPECT_EQ(sizes[2].flash_form, "fp32");
  // Without any integer stage the MACs are unknown.
  EXPECT_EQ(stage_sizes({fp}, {std::nullopt})[0].macs, "-");
  // A stage of another model (a teacher) does not borrow the student's MACs.
  const std::vector<StageSize> two_models = stage_sizes(
      {fp, fp, q}, {std::nullopt, std::nullopt, StageCost{123, 40}}, {"cnn", "mlp", "mlp"});
  EXPECT_EQ(two_models[0].macs, "-");
  EXPECT_EQ(two_models[1].macs, "40");
  const std::string text = results_table({fp, q}, {sizes[0], sizes[1]}).to_text();
  EXPECT_NE(text.find("flash bytes"), std::string::npos) << text;
  EXPECT_NE(text.find("MACs"), std::string::npos) << text;
  EXPECT_NE(text.find("123"), std::string::npos) << text;
}

TEST(ResultsTableColumns, FlowStagesShowAeeClassificationStagesAccuracy) {
  StageResult classify;
  classify.stage = "fp";
  classify.test.accuracy = 0.875;
  const std::string plain = results_table({classify}, {}).to_text();
  EXPECT_NE(plain.find("accuracy"), std::string::npos) << plain;
  EXPECT_NE(plain.find("0.875"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("AEE"), std::string::npos) << plain;

  StageResult flow;
  flow.stage = "w4";
  flow.test.accuracy = std::nan("");
  flow.test.aee = 0.6125;
  flow.test.outliers = 0.03125;
  const std::string only_flow = results_table({flow}, {}).to_text();
  EXPECT_NE(only_flow.find("AEE"), std::string::npos) << only_flow;
  EXPECT_NE(only_flow.find("0.6125"), std::string::npos) << only_flow;
  EXPECT_NE(only_flow.find("0.03125"), std::string::npos) << only_flow;
  EXPECT_EQ(only_flow.find("accuracy"), std::string::npos) << only_flow;
  // Mixed: both groups, "-" where a stage has no value.
  const std::string mixed = results_table({classify, flow}, {}).to_text();
  EXPECT_NE(mixed.find("accuracy"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("AEE"), std::string::npos) << mixed;
}

}  // namespace
}  // namespace lowbit::train
