#include "lowbit/export/export_folder.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "export/random_models.h"
#include "lowbit/export/c/codegen.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::exporter {
namespace {

namespace fs = std::filesystem;

class ExportFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lowbit_export_folder_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file with `text` at dir_/`name`, its folders created.
  std::string put(const std::string& name, const std::string& text = "x") {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    util::write_text_atomically(path.string(), text);
    return path.string();
  }

  // Exports a small model to dir_/`name` with `options`; the error text, or "" on success.
  std::string export_to(const std::string& name, CodegenOptions options = {}) {
    options.prefix = "m";
    try {
      export_model(testing::random_mlp(WeightFormat::kInt8, 1), (dir_ / name).string(), options);
      return "";
    } catch (const util::FileError& e) {
      return e.what();
    }
  }

  fs::path dir_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(ExportFolderTest, NewEmptyAndEarlierExportFoldersAreReplaced) {
  EXPECT_EQ(export_to("new"), "");
  EXPECT_TRUE(fs::is_regular_file(dir_ / "new" / kExportMarkerName));
  EXPECT_EQ(util::read_file((dir_ / "new" / kExportMarkerName).string()).rfind("lowbit-export 1\n"),
            0u);
  EXPECT_TRUE(is_export_folder((dir_ / "new").string()));
  put("new/extra.txt");  // still an export: the marker says so; a new export drops the file
  EXPECT_EQ(export_to("new"), "");
  EXPECT_FALSE(fs::exists(dir_ / "new/extra.txt"));
  fs::create_directories(dir_ / "empty");
  EXPECT_EQ(export_to("empty"), "");
  EXPECT_EQ(export_to("trailing/"), "");
  EXPECT_TRUE(fs::is_regular_file(dir_ / "trailing/model.c"));
}

TEST_F(ExportFolderTest, ExportsFromBeforeTheMarkerAreRecognised) {
  ASSERT_EQ(export_to("old"), "");
  fs::remove(dir_ / "old" / kExportMarkerName);
  EXPECT_TRUE(is_export_folder((dir_ / "old").string()));
  EXPECT_EQ(export_to("old"), "");
  // One more file, or a model.json of another kind, and it is no longer recognisably an export.
  fs::remove(dir_ / "old" / kExportMarkerName);
  put("old/notes.txt");
  EXPECT_FALSE(is_export_folder((dir_ / "old").string()));
  fs::remove(dir_ / "old/notes.txt");
  put("old/model.json", "{\"format\": \"something else\"}");
  EXPECT_FALSE(is_export_folder((dir_ / "old").string()));
}

TEST_F(ExportFolderTest, ForeignFolderIsRefusedUnlessForced) {
  const std::string mine = put("mine/thesis.tex", "precious");
  const std::string error = export_to("mine");
  EXPECT_TRUE(contains(error, "refusing to replace '" + (dir_ / "mine").string() + "'")) << error;
  EXPECT_TRUE(contains(error, "--force")) << error;
  EXPECT_EQ(util::read_file(mine), "precious");
  CodegenOptions force;
  force.force = true;
  EXPECT_EQ(export_to("mine", force), "");
  EXPECT_FALSE(fs::exists(mine));
  EXPECT_TRUE(is_export_folder((dir_ / "mine").string()));
}

TEST_F(ExportFolderTest, FilesLinksRunsAndCheckpointsAreNeverReplaced) {
  CodegenOptions force;
  force.force = true;
  const std::string file = put("file.c", "int main;");
  const std::string file_error = export_to("file.c", force);
  EXPECT_TRUE(contains(file_error, "it is a file")) << file_error;
  EXPECT_EQ(util::read_file(file), "int main;");

  fs::create_directories(dir_ / "target");
  fs::create_directory_symlink(dir_ / "target", dir_ / "link");
  EXPECT_TRUE(contains(export_to("link", force), "symbolic link"));

  // A run directory, a folder holding one deep down, and a lone stage folder with checkpoints.
  const std::string checkpoint = put("runs/a/w4/best.pt", "weights");
  put("runs/a/config.yaml", "stages: []\n");
  for (const std::string name : {"runs/a", "runs", "runs/a/w4"}) {
    const std::string error = export_to(name, force);
    EXPECT_TRUE(contains(error, "training results")) << name << ": " << error;
  }
  EXPECT_EQ(util::read_file(checkpoint), "weights");

  // A protected path (the run being exported) and the folders above it, even when empty of runs.
  fs::create_directories(dir_ / "plain/run");
  CodegenOptions guarded = force;
  guarded.protected_paths = {(dir_ / "plain/run").string()};
  const std::string run_error = export_to("plain/run", guarded);
  EXPECT_TRUE(contains(run_error, "it is or contains '" + (dir_ / "plain/run").string() + "'"))
      << run_error;
  EXPECT_TRUE(contains(export_to("plain", guarded), "contains '"));
  EXPECT_TRUE(contains(export_to("plain/run/../run/", guarded), "contains '"));
  EXPECT_TRUE(fs::is_directory(dir_ / "plain/run"));
  EXPECT_EQ(export_to("plain/run/export", guarded), "");  // inside the run is fine

  // The working directory and the folders above it.
  EXPECT_THROW(check_export_target(fs::current_path().string(), {}, true), util::FileError);
  EXPECT_THROW(check_export_target("/", {}, true), util::FileError);
}

// A pid that belonged to a process which has exited and been reaped.
long dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

TEST_F(ExportFolderTest, LeftoversOfKilledExportsAreRemoved) {
  ASSERT_EQ(export_to("out"), "");
  const std::string dead = std::to_string(dead_pid());
  const std::string alive = std::to_string(::getpid());
  for (const std::string& name : {".out.tmp-" + dead + "-0", ".out.old-" + dead + "-3"}) {
    fs::create_directories(dir_ / name / "runtime");
  }
  const std::vector<std::string> kept = {".out.tmp-" + alive + "-7", ".out.tmp-x",
                                         ".other.tmp-" + dead + "-0",
                                         ".out.tmp-" + dead + "-0.txt"};
  for (const std::string& name : kept) fs::create_directories(dir_ / name);
  EXPECT_EQ(export_to("out"), "");
  EXPECT_FALSE(fs::exists(dir_ / (".out.tmp-" + dead + "-0")));
  EXPECT_FALSE(fs::exists(dir_ / (".out.old-" + dead + "-3")));
  for (const std::string& name : kept) EXPECT_TRUE(fs::exists(dir_ / name)) << name;
}

TEST_F(ExportFolderTest, ModelJsonIsCheckedAndErrorsNameIt) {
  ASSERT_EQ(export_to("e"), "");
  const ExportInfo info = read_export_info((dir_ / "e").string());
  EXPECT_EQ(info.prefix, "m");
  const std::string path = (dir_ / "e/model.json").string();
  const auto error_for = [&](const std::string& text) {
    try {
      parse_export_info(text, path);
      return std::string();
    } catch (const util::FileError& e) {
      return std::string(e.what());
    }
  };
  const std::string good = util::read_file(path);
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  EXPECT_EQ(error_for(good), "");
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"", "not valid JSON"},
           {good.substr(0, good.size() / 2), "not valid JSON"},
           {"[1, 2]", "expected a JSON object, got array"},
           {"{}", "expected a string at 'format' (missing)"},
           {with("\"lowbit-integer-model\"", "\"other\""), "'format' is not"},
           {with("\"version\": 1", "\"version\": 2"), "expected 'version' 1, got 2"},
           {with("\"prefix\": \"m\"", "\"prefix\": 7"), "expected a string at 'prefix', got 7"},
           {with("\"prefix\": \"m\"", "\"prefix\": \"m(); system(\\\"rm -rf ~\\\"); int m\""),
            "key 'prefix': codegen: prefix"},
           {with("\"stage\":", "\"stag\":"), "expected a string at 'provenance.stage'"},
       }) {
    const std::string error = error_for(text);
    EXPECT_TRUE(contains(error, "'" + path + "'")) << text.substr(0, 80) << " -> " << error;
    EXPECT_TRUE(contains(error, expected)) << text.substr(0, 80) << " -> " << error;
  }
  EXPECT_THROW(read_export_info((dir_ / "nothing").string()), util::FileError);
}

}  // namespace
}  // namespace lowbit::exporter
