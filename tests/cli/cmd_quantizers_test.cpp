// `lowbit quantizers`: every registered type, its roles and parameters, as text and markdown.
#include <gtest/gtest.h>

#include "cli/run_lowbit.h"
#include "lowbit/quant/registry.h"

namespace lowbit::cli {
namespace {

using testing::run_lowbit;

TEST(QuantizersTest, PlainListingNamesEveryTypeRoleAndParameter) {
  const auto r = run_lowbit("quantizers");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto& types = quant::quantizer_types();
  if (types.empty()) {
    EXPECT_EQ(r.out, "No quantizer types are registered.\n");
    return;
  }
  for (const auto& type : types) {
    const size_t at = r.out.find("\n" + type.name + ": " + type.description + "\n");
    const size_t first = r.out.rfind(type.name + ": " + type.description + "\n", 0);
    EXPECT_TRUE(at != std::string::npos || first == 0) << type.name << "\n" << r.out;
    for (const auto& p : type.params) {
      const std::string head =
          "  " + p.name + "=" + (p.default_value.empty() ? "(required)" : p.default_value);
      EXPECT_NE(r.out.find(head), std::string::npos) << type.name << " " << p.name;
      EXPECT_NE(r.out.find(p.description), std::string::npos) << type.name << " " << p.name;
    }
    std::string roles;
    for (const auto role : type.roles)
      roles += (roles.empty() ? "" : ", ") + quant::role_name(role);
    EXPECT_NE(r.out.find(type.name + ": " + type.description + "\n  roles: " + roles + "\n"),
              std::string::npos)
        << type.name;
  }
}

TEST(QuantizersTest, MarkdownHasASectionAndTableRowPerTypeAndParameter) {
  const auto r = run_lowbit("quantizers --markdown");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto& types = quant::quantizer_types();
  if (types.empty()) {
    EXPECT_EQ(r.out, "No quantizer types are registered.\n");
    return;
  }
  size_t last = 0;
  for (const auto& type : types) {
    const size_t at = r.out.find("### `" + type.name + "`\n\n" + type.description + "\n\n");
    ASSERT_NE(at, std::string::npos) << type.name;
    EXPECT_GE(at, last) << type.name << " is out of registry order";
    last = at;
    for (const auto& p : type.params) {
      EXPECT_NE(r.out.find("| `" + p.name + "` | ", at), std::string::npos) << p.name;
    }
  }
}

}  // namespace
}  // namespace lowbit::cli
