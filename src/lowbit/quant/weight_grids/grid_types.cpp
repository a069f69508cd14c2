// The registry entries of the fixed weight grids.
#include <memory>

#include "lowbit/quant/registry.h"
#include "lowbit/quant/weight_grids/binary.h"
#include "lowbit/quant/weight_grids/fp130.h"
#include "lowbit/quant/weight_grids/minifloat.h"
#include "lowbit/quant/weight_grids/nf4.h"
#include "lowbit/quant/weight_grids/sym.h"
#include "lowbit/quant/weight_grids/ternary.h"

namespace lowbit::quant {
namespace {

ParamInfo per_channel_param() {
  return {"per_channel", "0", "1: one scale per output channel (axis 0); 0: one per tensor"};
}

ParamInfo ste_param(SteMode fallback) {
  return {"ste", ste_mode_name(fallback),
          "gradient: clip (zero outside the grid's span) or plain (straight through everywhere)"};
}

bool per_channel_of(const QuantSpec& s) {
  return s.get_bool("per_channel", false);
}

}  // namespace

void add_grid_types(std::vector<QuantizerType>& types) {
  types.push_back(
      {"binary",
       "1-bit {-s,+s}, s = mean|w|: sign(w) (BitNetMCU BinarySym) or sign(w - mean w) (Binary)",
       {{"centered", "0", "1: sign of w - mean(w), BitNetMCU's default Binary type"},
        per_channel_param(),
        ste_param(SteMode::kPlain)},
       {Role::kWeight},
       [](const QuantSpec& s, Role) -> Quantizer {
         return std::make_shared<BinaryQuantizerImpl>(
             s.get_bool("centered", false), per_channel_of(s), parse_ste_mode(s, SteMode::kPlain));
       }});
  types.push_back(
      {"ternary",
       "BitNet b1.58 {-s,0,+s}: s = mean|w|, code = clamp(round(w/s), -1, 1), 2-bit storage",
       {per_channel_param(), ste_param(SteMode::kPlain)},
       {Role::kWeight},
       [](const QuantSpec& s, Role) -> Quantizer {
         return std::make_shared<TernaryQuantizerImpl>(per_channel_of(s),
                                                       parse_ste_mode(s, SteMode::kPlain));
       }});
  types.push_back(
      {"sym",
       "half-integer grid without zero, +-0.5 .. +-(2^(b-1)-0.5) steps (BitNetMCU 2bitsym/4bitsym)",
       {{"bits", "2", "bits per weight, 1..16 (codes are the odd integers up to 2^bits - 1)"},
        {"quantscale", "0.25", "clip level = mean|w| / quantscale maps to 2^(bits-1) steps"},
        {"clip", "mean", "clip level: mean (mean|w| / quantscale) or octav (OCTAV's MSE optimum)"},
        per_channel_param(),
        ste_param(SteMode::kClip)},
       {Role::kWeight},
       [](const QuantSpec& s, Role) -> Quantizer {
         return std::make_shared<SymQuantizerImpl>(
             s.get_int_in("bits", 2, SymQuantizerImpl::kMinBits, SymQuantizerImpl::kMaxBits),
             s.get_double("quantscale", 0.25), per_channel_of(s), parse_ste_mode(s, SteMode::kClip),
             s.get_choice("clip", "mean", {"mean", "octav"}) == "octav"
                 ? SymQuantizerImpl::Clip::kOctav
                 : SymQuantizerImpl::Clip::kMean);
       }});
  types.push_back({"nf4",
                   "QLoRA NormalFloat-4 codebook (bitsandbytes values) with an absmax scale",
                   {per_channel_param(), ste_param(SteMode::kClip)},
                   {Role::kWeight},
                   [](const QuantSpec& s, Role) -> Quantizer {
                     return std::make_shared<Nf4QuantizerImpl>(per_channel_of(s),
                                                               parse_ste_mode(s, SteMode::kClip));
                   }});
  types.push_back(
      {"fp",
       "minifloat sign+E+M with subnormals, saturating, absmax scale (E2M1 FP4, E4M3 FP8 max 448)",
       {{"e", "2", "exponent bits, 1..4 (bias 2^(e-1)-1)"},
        {"m", "1", "mantissa bits, 0..10"},
        {"special", "auto",
         "reserved codes: none, nan (only S.1..1.1..1, OCP E4M3), ieee (top exponent); auto = "
         "nan for e=4,m=3, else none"},
        per_channel_param(),
        ste_param(SteMode::kClip)},
       {Role::kWeight, Role::kBias, Role::kActivation},
       [](const QuantSpec& s, Role) -> Quantizer {
         const int e = s.get_int("e", 2);
         const int m = s.get_int("m", 1);
         const std::string special =
             s.get_choice("special", "auto", {"auto", "none", "nan", "ieee"});
         const FpSpecial kind = special == "auto"   ? MinifloatQuantizerImpl::default_special(e, m)
                                : special == "none" ? FpSpecial::kNone
                                : special == "nan"  ? FpSpecial::kNan
                                                    : FpSpecial::kIeee;
         return std::make_shared<MinifloatQuantizerImpl>(e, m, kind, per_channel_of(s),
                                                         parse_ste_mode(s, SteMode::kClip));
       }});
  types.push_back(
      {"fp130",
       "BitNetMCU FP1.3.0: sign * 2^e, e in 0..7, no zero (shift-only weights), absmean scale",
       {{"quantscale", "0.25", "clip level = mean|w| / quantscale maps to 2^7"},
        per_channel_param(),
        ste_param(SteMode::kClip)},
       {Role::kWeight},
       [](const QuantSpec& s, Role) -> Quantizer {
         return std::make_shared<Fp130QuantizerImpl>(s.get_double("quantscale", 0.25),
                                                     per_channel_of(s),
                                                     parse_ste_mode(s, SteMode::kClip));
       }});
}

}  // namespace lowbit::quant
