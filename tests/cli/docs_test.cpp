// docs/quantizers.md carries the output of `lowbit quantizers --markdown`; this keeps them equal.
#include <gtest/gtest.h>

#include <string>

#include "cli/run_lowbit.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

using testing::run_lowbit;

TEST(DocsTest, QuantizerReferenceEqualsCommandOutput) {
  const std::string doc = util::read_file(testing::source_dir() + "/docs/quantizers.md");
  const std::string begin = "<!-- BEGIN GENERATED: lowbit quantizers --markdown -->\n";
  const std::string end = "\n<!-- END GENERATED -->\n";
  const size_t b = doc.find(begin);
  ASSERT_NE(b, std::string::npos) << "docs/quantizers.md lacks the BEGIN GENERATED line";
  const size_t e = doc.find(end, b);
  ASSERT_NE(e, std::string::npos) << "docs/quantizers.md lacks the END GENERATED line";
  // The section runs to the newline that ends its last line.
  const std::string section = doc.substr(b + begin.size(), e + 1 - (b + begin.size()));
  const auto r = run_lowbit("quantizers --markdown");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(section, r.out) << "docs/quantizers.md is out of date: run scripts/gen_docs.sh";
}

}  // namespace
}  // namespace lowbit::cli
