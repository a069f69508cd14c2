// The quantizer SPEC grammar shared by the CLI and the YAML configs:
//   spec   := type [ ':' param { ',' param } ]
//   param  := key '=' value
// e.g. "uniform:bits=4,integer=0,signed=1", "ternary", "lsq:bits=2", "fp:e=2,m=1".
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lowbit::quant {

/// The longest SPEC text parse() accepts; real SPECs are under 150 characters.
inline constexpr size_t kMaxSpecLength = 512;

/// Error in a SPEC string or one of its parameters; the message names the spec and the key.
class SpecError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A parsed quantizer SPEC: its type name and its key=value parameters in the order given.
class QuantSpec {
 public:
  QuantSpec() = default;
  /// Builds a spec from a type and parameters without parsing.
  explicit QuantSpec(std::string type,
                     std::vector<std::pair<std::string, std::string>> params = {});

  /// Parses `type[:key=value,...]`; throws SpecError on empty type, missing '=', repeated key,
  /// a value with characters other than letters, digits, '_', '.', '+' and '-', or a text
  /// longer than kMaxSpecLength.
  static QuantSpec parse(std::string_view text);

  /// The canonical text form, which parse() reads back to an equal spec.
  std::string str() const;

  /// The quantizer type, e.g. "uniform".
  const std::string& type() const { return type_; }
  /// The parameters in the order given.
  const std::vector<std::pair<std::string, std::string>>& params() const { return params_; }

  /// True when the key is present.
  bool has(std::string_view key) const;
  /// Sets (or replaces) a parameter.
  void set(std::string_view key, std::string value);
  /// The raw text of a parameter, or `fallback` when absent.
  std::string get(std::string_view key, std::string_view fallback) const;
  /// An integer parameter; throws SpecError naming the key when the text is not an integer.
  int get_int(std::string_view key, int fallback) const;
  /// A real parameter; throws SpecError naming the key when the text is not a number that a
  /// float holds: finite, |x| <= FLT_MAX, and 0 or |x| >= FLT_MIN (no overflow, no flush to 0).
  double get_double(std::string_view key, double fallback) const;
  /// A real parameter that must lie in [lo, hi]; throws SpecError naming the range otherwise.
  double get_double_in(std::string_view key, double fallback, double lo, double hi) const;
  /// A boolean parameter (1/0/true/false/yes/no); throws SpecError otherwise.
  bool get_bool(std::string_view key, bool fallback) const;
  /// An integer parameter that must lie in [lo, hi]; throws SpecError naming the range otherwise.
  int get_int_in(std::string_view key, int fallback, int lo, int hi) const;
  /// A word parameter that must be one of `choices`; throws SpecError listing them otherwise.
  std::string get_choice(std::string_view key, std::string_view fallback,
                         const std::vector<std::string>& choices) const;

  /// Equal type and parameters.
  bool operator==(const QuantSpec& other) const;

 private:
  [[noreturn]] void fail(std::string_view key, std::string_view expected) const;

  std::string type_;
  std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace lowbit::quant
