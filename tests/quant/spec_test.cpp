#include "lowbit/quant/spec.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "lowbit/quant/registry.h"

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

// Runs `body`, expects a SpecError and returns its message.
template <class Body>
std::string spec_error(Body body) {
  try {
    body();
  } catch (const SpecError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no SpecError";
  return "";
}

TEST(QuantSpec, HostileTextIsAShortError) {
  const std::string huge = "uniform:" + std::string(1000000, 'x');
  std::string message = spec_error([&] { QuantSpec::parse(huge); });
  EXPECT_NE(message.find("longer than 512 characters"), std::string::npos) << message;
  EXPECT_LT(message.size(), 300u);
  // Many parameters: each is checked against the earlier ones, so the length bound keeps the
  // parse short as well.
  std::string many = "uniform:";
  for (int i = 0; many.size() < 100000; ++i) many += "k" + std::to_string(i) + "=1,";
  EXPECT_THROW(QuantSpec::parse(many), SpecError);
  // Control characters, NUL and separators inside a value.
  for (const std::string& text :
       {std::string("uniform:bits=4\0junk", 19), std::string("uniform:bits=4\n"),
        std::string("uniform:bits=4;rm"), std::string("uniform:bits=\x01"),
        std::string("uniform:bits=4 4"), std::string("uniform:bits==4")}) {
    message = spec_error([&] { QuantSpec::parse(text); });
    EXPECT_NE(message.find("'bits'"), std::string::npos) << message;
    EXPECT_EQ(message.find('\0'), std::string::npos);
    EXPECT_EQ(message.find('\x01'), std::string::npos);
  }
  EXPECT_EQ(QuantSpec::parse(std::string(kMaxSpecLength - 14, ' ') + "uniform:bits=4").type(),
            "uniform");
}

TEST(QuantSpec, NumbersOutsideAFloatAreErrors) {
  const QuantSpec spec = QuantSpec::parse(
      "x:a=nan,b=inf,c=-inf,d=1e39,e=1e-39,f=1e-400,g=0x1p200,h=3.4e38,i=1.2e-38,j=-0,"
      "k=99999999999999999999,l=1073741825,m=-1073741824,n=4.5");
  for (const char* key : {"a", "b", "c", "d", "e", "f", "g"}) {
    const std::string message = spec_error([&] { spec.get_double(key, 1.0); });
    EXPECT_NE(message.find("normal range"), std::string::npos) << key << ": " << message;
  }
  EXPECT_DOUBLE_EQ(spec.get_double("h", 1.0), 3.4e38);
  EXPECT_DOUBLE_EQ(spec.get_double("i", 1.0), 1.2e-38);
  EXPECT_EQ(spec.get_double("j", 1.0), 0.0);
  for (const char* key : {"k", "l", "n", "a"}) {
    EXPECT_THROW(spec.get_int(key, 1), SpecError) << key;
  }
  EXPECT_EQ(spec.get_int("m", 1), -1073741824);
  EXPECT_DOUBLE_EQ(spec.get_double_in("n", 0.0, 0.0, 10.0), 4.5);
  const std::string message = spec_error([&] { spec.get_double_in("n", 0.0, 0.0, 1.0); });
  EXPECT_NE(message.find("a number in [0, 1]"), std::string::npos) << message;
}

// Every parameter of every quantizer type given hostile values: each is either a SpecError or a
// quantizer that runs; nothing crashes, hangs or throws another type.
TEST(QuantSpec, EveryTypeTakesHostileParameterValuesCleanly) {
  const std::vector<std::string> values = {
      "2147483648", "-2147483649", "1073741824", "-1073741824", "65",      "33",   "17",
      "0",          "-1",          "3e38",       "-3e38",       "1.2e-38", "1e38", "nan",
      "inf",        "1e308",       "x",          "0.5",         "1"};
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({4, 8});
  int built = 0;
  int refused = 0;
  for (const QuantizerType& type : quantizer_types()) {
    for (const ParamInfo& param : type.params) {
      for (const std::string& value : values) {
        const QuantSpec spec(type.name, {{param.name, value}});
        for (const Role role : type.roles) {
          Quantizer q;
          try {
            q = make_quantizer(spec, role);
          } catch (const SpecError& e) {
            ++refused;
            EXPECT_NE(std::string(e.what()).find(type.name), std::string::npos) << e.what();
            continue;
          }
          ++built;
          // A quantizer that was built must run; whether its output is finite is the concern of
          // the callers that check results (lowbit quantize, training).
          try {
            q->forward(x);
          } catch (const std::exception& e) {
            ADD_FAILURE() << spec.str() << " as " << role_name(role) << ": " << e.what();
          }
        }
      }
    }
  }
  EXPECT_GT(built, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace lowbit::quant
