#include "lowbit/quant/spec.h"

#include <gtest/gtest.h>

namespace lowbit::quant {
namespace {

TEST(QuantSpec, ParsesTypeAndParametersInOrder) {
  const QuantSpec spec = QuantSpec::parse(" uniform : bits=4, integer=0 ,signed=1");
  EXPECT_EQ(spec.type(), "uniform");
  ASSERT_EQ(spec.params().size(), 3u);
  EXPECT_EQ(spec.params()[0].first, "bits");
  EXPECT_EQ(spec.get_int("bits", 8), 4);
  EXPECT_EQ(spec.get_int("integer", 3), 0);
  EXPECT_TRUE(spec.get_bool("signed", false));
  EXPECT_EQ(spec.str(), "uniform:bits=4,integer=0,signed=1");
  EXPECT_EQ(QuantSpec::parse(spec.str()), spec);
}

TEST(QuantSpec, BareTypeHasNoParameters) {
  const QuantSpec spec = QuantSpec::parse("ternary");
  EXPECT_EQ(spec.type(), "ternary");
  EXPECT_TRUE(spec.params().empty());
  EXPECT_EQ(spec.get_int("bits", 2), 2);
}

TEST(QuantSpec, RejectsMalformedText) {
  EXPECT_THROW(QuantSpec::parse(""), SpecError);
  EXPECT_THROW(QuantSpec::parse(":bits=4"), SpecError);
  EXPECT_THROW(QuantSpec::parse("uniform:bits"), SpecError);
  EXPECT_THROW(QuantSpec::parse("uniform:bits="), SpecError);
  EXPECT_THROW(QuantSpec::parse("uniform:bits=4,bits=3"), SpecError);
  EXPECT_THROW(QuantSpec::parse("uni form"), SpecError);
}

TEST(QuantSpec, TypedAccessorsNameTheKeyOnError) {
  const QuantSpec spec = QuantSpec::parse("uniform:bits=four,alpha=x,signed=maybe,bits2=9");
  try {
    spec.get_int("bits", 8);
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("'bits'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(spec.get_double("alpha", 1.0), SpecError);
  EXPECT_THROW(spec.get_bool("signed", true), SpecError);
  EXPECT_THROW(spec.get_int_in("bits2", 8, 1, 8), SpecError);
  EXPECT_THROW(spec.get_choice("alpha", "none", {"none", "auto", "auto_po2"}), SpecError);
  EXPECT_EQ(spec.get_choice("scale", "absmax", {"absmax", "octav"}), "absmax");
}

}  // namespace
}  // namespace lowbit::quant
