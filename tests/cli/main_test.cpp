// The program as a whole: version, help, usage errors and their exit codes.
#include <gtest/gtest.h>

#include "cli/run_lowbit.h"

namespace lowbit::cli {
namespace {

using testing::run_lowbit;

TEST(MainTest, VersionPrintsTheProjectVersion) {
  const auto r = run_lowbit("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string("lowbit ") + LOWBIT_VERSION + "\n");
}

TEST(MainTest, HelpListsEverySubcommand) {
  for (const std::string args : {"--help", ""}) {
    const auto r = run_lowbit(args);
    EXPECT_EQ(r.code, 0) << args;
    for (const char* cmd : {"quantizers", "quantize", "survey"}) {
      EXPECT_NE(r.out.find(std::string("\n  ") + cmd + " "), std::string::npos) << cmd << "\n"
                                                                                << r.out;
    }
  }
}

TEST(MainTest, SubcommandHelpListsItsOptions) {
  const auto r = run_lowbit("quantize --help");
  EXPECT_EQ(r.code, 0);
  for (const char* opt :
       {"--spec", "--in", "--out", "--per-channel", "--ints", "--scale", "--role"}) {
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
  }
}

TEST(MainTest, UsageErrorsExitWithTwo) {
  const auto unknown = run_lowbit("frobnicate");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_EQ(unknown.err.rfind("lowbit: error: ", 0), 0u) << unknown.err;
  EXPECT_NE(unknown.err.find("frobnicate"), std::string::npos) << unknown.err;

  const auto missing = run_lowbit("quantize --spec uniform --out x.npy");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--in is required"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.out, "");

  const auto role = run_lowbit("quantize --spec a --in b --out c --role kernel");
  EXPECT_EQ(role.code, 2);
  EXPECT_NE(role.err.find("kernel"), std::string::npos) << role.err;
  EXPECT_EQ(run_lowbit("survey --samples 0").code, 2);
}

}  // namespace
}  // namespace lowbit::cli
