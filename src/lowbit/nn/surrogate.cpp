#include "lowbit/nn/surrogate.h"

#include <torch/autograd.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace lowbit::nn {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct KindInfo {
  const char* name;
  const char* key;
};

const KindInfo kKinds[] = {{"atan", "alpha"}, {"fast_sigmoid", "slope"}, {"triangle", "width"}};

const KindInfo& info(SurrogateKind kind) {
  return kKinds[static_cast<int>(kind)];
}

Surrogate make(SurrogateKind kind, double param) {
  if (!std::isfinite(param) || param <= 0.0) {
    std::ostringstream text;
    text << "surrogate " << info(kind).name << ": " << info(kind).key
         << " must be a positive number, got " << param;
    throw std::invalid_argument(text.str());
  }
  return Surrogate{kind, param};
}

// The Heaviside step in the forward pass, the surrogate in the backward pass. The kind and its
// parameter travel as plain numbers (saved_data holds IValues).
class SpikeFunction : public torch::autograd::Function<SpikeFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               int64_t kind, double param) {
    ctx->save_for_backward({x});
    ctx->saved_data["kind"] = kind;
    ctx->saved_data["param"] = param;
    return (x > 0).to(x.scalar_type());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::Tensor x = ctx->get_saved_variables()[0];
    const Surrogate s{static_cast<SurrogateKind>(ctx->saved_data["kind"].toInt()),
                      ctx->saved_data["param"].toDouble()};
    return {grads[0] * surrogate_gradient(x, s), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

Surrogate Surrogate::atan(double alpha) {
  return make(SurrogateKind::kAtan, alpha);
}

Surrogate Surrogate::fast_sigmoid(double slope) {
  return make(SurrogateKind::kFastSigmoid, slope);
}

Surrogate Surrogate::triangle(double width) {
  return make(SurrogateKind::kTriangle, width);
}

const std::vector<std::string>& surrogate_names() {
  static const std::vector<std::string> names = {"atan:alpha", "fast_sigmoid:slope",
                                                 "triangle:width"};
  return names;
}

Surrogate Surrogate::parse(const std::string& text) {
  auto fail = [&](const std::string& why) -> Surrogate {
    std::string choices;
    for (const std::string& n : surrogate_names()) choices += (choices.empty() ? "" : ", ") + n;
    throw std::invalid_argument("surrogate '" + text + "': " + why + " (expected NAME or " +
                                "NAME:KEY=VALUE, one of " + choices + ")");
  };
  const size_t colon = text.find(':');
  const std::string name = text.substr(0, colon);
  for (int k = 0; k < 3; ++k) {
    const KindInfo& kind = kKinds[k];
    if (name != kind.name) continue;
    const Surrogate defaults = k == 0 ? atan() : k == 1 ? fast_sigmoid() : triangle();
    if (colon == std::string::npos) return defaults;
    const std::string rest = text.substr(colon + 1);
    const size_t eq = rest.find('=');
    if (eq == std::string::npos || rest.substr(0, eq) != kind.key) {
      return fail(std::string("the parameter of ") + kind.name + " is '" + kind.key + "'");
    }
    const std::string value = rest.substr(eq + 1);
    size_t used = 0;
    double param = 0.0;
    try {
      param = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size() || !std::isfinite(param) || param <= 0.0) {
      return fail(std::string(kind.key) + " must be a positive number, got '" + value + "'");
    }
    return Surrogate{defaults.kind, param};
  }
  return fail("unknown surrogate '" + name + "'");
}

std::string Surrogate::to_string() const {
  std::ostringstream text;
  text << info(kind).name << ":" << info(kind).key << "=" << param;
  return text.str();
}

torch::Tensor surrogate_function(const torch::Tensor& x, const Surrogate& s) {
  switch (s.kind) {
    case SurrogateKind::kAtan:
      return 0.5 + torch::atan(x * (kPi / 2.0 * s.param)) / kPi;
    case SurrogateKind::kFastSigmoid:
      return x / (1.0 + s.param * x.abs());
    case SurrogateKind::kTriangle: {
      const double w = s.param;
      const torch::Tensor u = x.clamp(-w, w);
      const double scale = 1.0 / (2.0 * w * w);
      return torch::where(u <= 0, (u + w).pow(2) * scale, 1.0 - (w - u).pow(2) * scale);
    }
  }
  throw std::logic_error("surrogate_function: unknown kind");
}

torch::Tensor surrogate_gradient(const torch::Tensor& x, const Surrogate& s) {
  switch (s.kind) {
    case SurrogateKind::kAtan:
      return (s.param / 2.0) / (1.0 + (x * (kPi / 2.0 * s.param)).pow(2));
    case SurrogateKind::kFastSigmoid:
      return 1.0 / (1.0 + s.param * x.abs()).pow(2);
    case SurrogateKind::kTriangle:
      return (1.0 - x.abs() / s.param).clamp_min(0.0) / s.param;
  }
  throw std::logic_error("surrogate_gradient: unknown kind");
}

torch::Tensor spike(const torch::Tensor& x, const Surrogate& s) {
  return SpikeFunction::apply(x, static_cast<int64_t>(s.kind), s.param);
}

}  // namespace lowbit::nn
