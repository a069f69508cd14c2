#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

const std::vector<std::string> kGridTypes = {"binary", "ternary", "sym", "nf4", "fp", "fp130"};

TEST(GridTypes, AllRegisteredWithDocumentedParameters) {
  for (const std::string& name : kGridTypes) {
    const QuantizerType& type = quantizer_type(name);
    EXPECT_FALSE(type.description.empty()) << name;
    EXPECT_FALSE(type.roles.empty()) << name;
    for (const ParamInfo& p : type.params) {
      EXPECT_FALSE(p.default_value.empty()) << name << "." << p.name;
      EXPECT_FALSE(p.description.empty()) << name << "." << p.name;
    }
  }
}

TEST(GridTypes, SpecRoundTripsThroughTheRegistry) {
  for (const char* text : {"binary", "binary:centered=1,per_channel=1", "ternary:ste=clip",
                           "sym:bits=4,quantscale=0.3", "nf4:per_channel=1", "fp:e=4,m=3",
                           "fp:e=2,m=1,special=ieee", "fp130:quantscale=0.5,ste=plain"}) {
    const Quantizer q = make_quantizer(text);
    const Quantizer again = make_quantizer(q->spec());
    EXPECT_EQ(q->spec(), again->spec()) << text;
    EXPECT_EQ(q->bits(), again->bits()) << text;
  }
  EXPECT_EQ(make_quantizer("fp:e=4,m=3")->spec().get("special", ""), "nan");
  EXPECT_EQ(make_quantizer("sym:bits=4")->spec().str(),
            "sym:bits=4,quantscale=0.25,per_channel=0,ste=clip");
}

TEST(GridTypes, BitsOfEachType) {
  EXPECT_EQ(make_quantizer("binary")->bits(), 1);
  EXPECT_EQ(make_quantizer("ternary")->bits(), 2);
  EXPECT_EQ(make_quantizer("sym")->bits(), 2);
  EXPECT_EQ(make_quantizer("sym:bits=4")->bits(), 4);
  EXPECT_EQ(make_quantizer("nf4")->bits(), 4);
  EXPECT_EQ(make_quantizer("fp")->bits(), 4);
  EXPECT_EQ(make_quantizer("fp:e=4,m=3")->bits(), 8);
  EXPECT_EQ(make_quantizer("fp130")->bits(), 4);
}

TEST(GridTypes, BadKeysAndValuesNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"binary:bits=2", "'bits'"},
      {"ternary:scale=1", "'scale'"},
      {"nf4:block=64", "'block'"},
      {"fp130:bits=4", "'bits'"},
      {"sym:bits=0", "bits"},
      {"sym:bits=x", "bits"},
      {"binary:centered=maybe", "centered"},
      {"nf4:per_channel=2", "per_channel"},
      {"ternary:ste=round", "ste"},
      {"fp:m=-1", "'m'"}};
  for (const auto& [spec, key] : bad) {
    try {
      make_quantizer(std::string_view(spec));
      ADD_FAILURE() << spec << " accepted";
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << spec << ": " << e.what();
    }
  }
}

TEST(GridTypes, RolesAreChecked) {
  EXPECT_THROW(make_quantizer("binary", Role::kActivation), SpecError);
  EXPECT_THROW(make_quantizer("nf4", Role::kBias), SpecError);
  EXPECT_NO_THROW(make_quantizer("fp:e=4,m=3", Role::kActivation));
  EXPECT_NO_THROW(make_quantizer("fp:e=4,m=3", Role::kBias));
}

}  // namespace
}  // namespace lowbit::quant
