#include "lowbit/quant/spec.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace lowbit::quant {
namespace {

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

bool is_identifier(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool is_value_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '+' ||
           c == '-';
  });
}

// A SPEC as quoted in an error: a hostile one may be long or hold control characters.
std::string shown(std::string_view text) {
  constexpr size_t kShown = 64;
  std::string out;
  for (char c : text.substr(0, kShown)) {
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  if (text.size() > kShown) out += "... (" + std::to_string(text.size()) + " characters)";
  return out;
}

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

QuantSpec::QuantSpec(std::string type, std::vector<std::pair<std::string, std::string>> params)
    : type_(std::move(type)), params_(std::move(params)) {}

QuantSpec QuantSpec::parse(std::string_view text) {
  if (text.size() > kMaxSpecLength) {
    throw SpecError("quantizer spec '" + shown(text) + "': longer than " +
                    std::to_string(kMaxSpecLength) + " characters");
  }
  const std::string whole = trim(text);
  const auto colon = whole.find(':');
  QuantSpec spec;
  spec.type_ = trim(std::string_view(whole).substr(0, colon));
  if (!is_identifier(spec.type_)) {
    throw SpecError("quantizer spec '" + shown(whole) +
                    "': expected a type name (letters, digits, '_') before ':'");
  }
  if (colon == std::string::npos) return spec;
  const std::string_view rest = std::string_view(whole).substr(colon + 1);
  for (std::string_view item : split(rest, ',')) {
    const std::string param = trim(item);
    const auto eq = param.find('=');
    if (eq == std::string::npos) {
      throw SpecError("quantizer spec '" + shown(whole) + "': parameter '" + shown(param) +
                      "' is not of the form key=value");
    }
    std::string key = trim(std::string_view(param).substr(0, eq));
    std::string value = trim(std::string_view(param).substr(eq + 1));
    if (!is_identifier(key) || value.empty()) {
      throw SpecError("quantizer spec '" + shown(whole) + "': parameter '" + shown(param) +
                      "' needs a key (letters, digits, '_') and a value");
    }
    if (!is_value_text(value)) {
      throw SpecError("quantizer spec '" + shown(whole) + "': parameter '" + key +
                      "': expected a value of letters, digits, '_', '.', '+' and '-', got '" +
                      shown(value) + "'");
    }
    if (spec.has(key)) {
      throw SpecError("quantizer spec '" + shown(whole) + "': parameter '" + key + "' given twice");
    }
    spec.params_.emplace_back(std::move(key), std::move(value));
  }
  return spec;
}

std::string QuantSpec::str() const {
  std::string out = type_;
  for (size_t i = 0; i < params_.size(); ++i) {
    out += (i == 0 ? ":" : ",") + params_[i].first + "=" + params_[i].second;
  }
  return out;
}

bool QuantSpec::has(std::string_view key) const {
  return std::any_of(params_.begin(), params_.end(), [&](const auto& p) { return p.first == key; });
}

void QuantSpec::set(std::string_view key, std::string value) {
  for (auto& p : params_) {
    if (p.first == key) {
      p.second = std::move(value);
      return;
    }
  }
  params_.emplace_back(std::string(key), std::move(value));
}

std::string QuantSpec::get(std::string_view key, std::string_view fallback) const {
  for (const auto& p : params_) {
    if (p.first == key) return p.second;
  }
  return std::string(fallback);
}

void QuantSpec::fail(std::string_view key, std::string_view expected) const {
  throw SpecError("quantizer spec '" + shown(str()) + "': parameter '" + std::string(key) +
                  "' = '" + shown(get(key, "")) + "': expected " + std::string(expected));
}

int QuantSpec::get_int(std::string_view key, int fallback) const {
  if (!has(key)) return fallback;
  const std::string text = get(key, "");
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || end != text.c_str() + text.size() ||
      value < -(1L << 30) || value > (1L << 30)) {
    fail(key, "an integer");
  }
  return static_cast<int>(value);
}

double QuantSpec::get_double(std::string_view key, double fallback) const {
  if (!has(key)) return fallback;
  const std::string text = get(key, "");
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  constexpr double kMax = std::numeric_limits<float>::max();
  constexpr double kMin = std::numeric_limits<float>::min();
  // Quantizer parameters end up in float tensors: a value past FLT_MAX becomes inf there, and a
  // nonzero one below FLT_MIN (a subnormal) loses precision or flushes to 0.
  if (errno != 0 || end == text.c_str() || end != text.c_str() + text.size() ||
      !std::isfinite(value) || std::fabs(value) > kMax ||
      (value != 0.0 && std::fabs(value) < kMin)) {
    fail(key, "a finite number with 0 or 1.2e-38 <= |x| <= 3.4e38 (a float's normal range)");
  }
  return value;
}

double QuantSpec::get_double_in(std::string_view key, double fallback, double lo, double hi) const {
  const double value = get_double(key, fallback);
  if (!(value >= lo && value <= hi)) {
    fail(key, "a number in [" + number_text(lo) + ", " + number_text(hi) + "]");
  }
  return value;
}

bool QuantSpec::get_bool(std::string_view key, bool fallback) const {
  if (!has(key)) return fallback;
  const std::string text = get(key, "");
  if (text == "1" || text == "true" || text == "yes") return true;
  if (text == "0" || text == "false" || text == "no") return false;
  fail(key, "a boolean (1/0/true/false/yes/no)");
}

int QuantSpec::get_int_in(std::string_view key, int fallback, int lo, int hi) const {
  const int value = get_int(key, fallback);
  if (value < lo || value > hi) {
    fail(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return value;
}

std::string QuantSpec::get_choice(std::string_view key, std::string_view fallback,
                                  const std::vector<std::string>& choices) const {
  std::string value = get(key, fallback);
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return value;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  fail(key, "one of: " + list);
}

bool QuantSpec::operator==(const QuantSpec& other) const {
  return type_ == other.type_ && params_ == other.params_;
}

}  // namespace lowbit::quant
