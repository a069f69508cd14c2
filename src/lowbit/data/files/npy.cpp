#include "lowbit/data/files/npy.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "lowbit/data/files/input_file.h"
#include "lowbit/util/atomic_file.h"

// The array bytes are copied as they are, which is right only on a little-endian host.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "lowbit's .npy code assumes little-endian");

namespace lowbit::data {
namespace {

constexpr std::string_view kMagic{"\x93NUMPY", 6};
constexpr size_t kPreludeV1 = 10;  // magic, two version bytes, uint16 header length
constexpr size_t kPreludeV2 = 12;  // magic, two version bytes, uint32 header length
constexpr size_t kAlign = 64;

/// One dtype lowbit reads and writes.
struct Dtype {
  std::string_view descr;
  torch::ScalarType type;
  size_t size;
};

const Dtype kDtypes[] = {
    {"<f4", torch::kFloat32, 4}, {"<f8", torch::kFloat64, 8}, {"|i1", torch::kInt8, 1},
    {"|u1", torch::kUInt8, 1},   {"<i4", torch::kInt32, 4},   {"<i8", torch::kInt64, 8},
};

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw util::FileError("'" + name + "': " + what);
}

std::string supported_list() {
  std::string s;
  for (const auto& d : kDtypes) s += (s.empty() ? "" : ", ") + std::string(d.descr);
  return s;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

const Dtype& dtype_for_descr(const std::string& descr, const std::string& name) {
  // A one-byte type has no byte order; NumPy writes '|' but '<' and '=' mean the same.
  std::string key = descr;
  if (key.size() == 3 && key[2] == '1' && (key[0] == '<' || key[0] == '=')) key[0] = '|';
  for (const auto& d : kDtypes) {
    if (d.descr == key) return d;
  }
  std::string why;
  if (!descr.empty() && descr[0] == '>') why = " (big-endian)";
  if (descr.find('O') != std::string::npos) why = " (Python objects)";
  fail(name,
       "unsupported dtype '" + echo(descr) + "'" + why + "; expected one of " + supported_list());
}

const Dtype& dtype_for_tensor(torch::ScalarType type, const std::string& name) {
  for (const auto& d : kDtypes) {
    if (d.type == type) return d;
  }
  fail(name, std::string("cannot write dtype ") + c10::toString(type) +
                 " as .npy; expected float32, float64, int8, uint8, int32 or int64");
}

/// Reads the header dict, a Python literal such as
/// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  void parse() {
    expect('{');
    while (true) {
      skip_space();
      if (consume('}')) break;
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        if (descr_) bad("repeated key 'descr'");
        skip_space();
        if (peek() != '\'' && peek() != '"') {
          bad("'descr' is not a plain dtype string (structured dtypes are not supported)");
        }
        descr_ = parse_string();
      } else if (key == "fortran_order") {
        if (fortran_order_) bad("repeated key 'fortran_order'");
        fortran_order_ = parse_bool();
      } else if (key == "shape") {
        if (shape_) bad("repeated key 'shape'");
        shape_ = parse_shape();
      } else {
        bad("unexpected key '" + echo(key) + "'; expected 'descr', 'fortran_order' and 'shape'");
      }
      skip_space();
      if (consume(',')) continue;
      expect('}');
      break;
    }
    skip_space();
    if (pos_ != text_.size()) bad("text after the closing '}'");
    if (!descr_) bad("no 'descr' key");
    if (!fortran_order_) bad("no 'fortran_order' key");
    if (!shape_) bad("no 'shape' key");
  }

  const std::string& descr() const { return *descr_; }
  bool fortran_order() const { return *fortran_order_; }
  const std::vector<int64_t>& shape() const { return *shape_; }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(name_, "bad .npy header (" + what + ") in \"" + echo(text_) + "\"");
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!consume(c)) bad(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
  }
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"')
      bad("expected a quoted string at offset " + std::to_string(pos_));
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return s;
  }
  bool parse_bool() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const size_t n = std::strlen(word);
      if (text_.substr(pos_, n) == word) {
        pos_ += n;
        return value;
      }
    }
    bad("'fortran_order' is not True or False");
  }
  std::vector<int64_t> parse_shape() {
    expect('(');
    std::vector<int64_t> shape;
    while (true) {
      skip_space();
      if (consume(')')) break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        bad("'shape' must be a tuple of non-negative integers");
      }
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int digit = peek() - '0';
        if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) bad("dimension too large");
        v = v * 10 + digit;
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literal
      shape.push_back(v);
      if (consume(',')) continue;
      expect(')');
      break;
    }
    return shape;
  }

  std::string_view text_;
  const std::string& name_;
  size_t pos_ = 0;
  std::optional<std::string> descr_;
  std::optional<bool> fortran_order_;
  std::optional<std::vector<int64_t>> shape_;
};

uint32_t read_le(const std::string& bytes, size_t offset, size_t width) {
  uint32_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return v;
}

void append_le(std::string& out, uint32_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

torch::Tensor read_npy_bytes(const std::string& bytes, const std::string& name) {
  if (bytes.size() < kPreludeV1) {
    fail(name, "truncated .npy file: " + std::to_string(bytes.size()) +
                   " bytes, the header alone needs at least " + std::to_string(kPreludeV1));
  }
  if (std::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    fail(name, "not a .npy file: expected the magic string \\x93NUMPY at the start");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    fail(name, "unsupported .npy format version " + std::to_string(major) + "." +
                   std::to_string(minor) + "; expected 1.0, 2.0 or 3.0");
  }
  const size_t prelude = major == 1 ? kPreludeV1 : kPreludeV2;
  if (bytes.size() < prelude) {
    fail(name, "truncated .npy header: " + std::to_string(bytes.size()) +
                   " bytes, expected at least " + std::to_string(prelude));
  }
  const size_t header_len = read_le(bytes, 8, prelude - 8);
  if (bytes.size() < prelude + header_len) {
    fail(name, "truncated .npy header: it declares " + std::to_string(header_len) +
                   " bytes but the file ends after " + std::to_string(bytes.size() - prelude));
  }
  HeaderParser header(std::string_view(bytes).substr(prelude, header_len), name);
  header.parse();
  const Dtype& dtype = dtype_for_descr(header.descr(), name);
  if (header.fortran_order()) {
    fail(name,
         "Fortran-order arrays are not supported; expected 'fortran_order': False (save a "
         "C-contiguous array)");
  }
  const std::vector<int64_t>& shape = header.shape();
  uint64_t needed = dtype.size;
  for (const int64_t d : shape) {
    const auto ud = static_cast<uint64_t>(d);
    if (ud != 0 && needed > std::numeric_limits<uint64_t>::max() / ud) {
      fail(name, "shape " + shape_text(shape) + " is too large");
    }
    needed *= ud;
  }
  const size_t data_offset = prelude + header_len;
  const uint64_t available = bytes.size() - data_offset;
  if (available != needed) {
    fail(name, std::string(available < needed ? "truncated data" : "data and header disagree") +
                   ": shape " + shape_text(shape) + " of " + std::string(dtype.descr) + " needs " +
                   std::to_string(needed) + " bytes of data, the file has " +
                   std::to_string(available));
  }
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(dtype.type));
  if (needed > 0) std::memcpy(t.data_ptr(), bytes.data() + data_offset, needed);
  return t;
}

torch::Tensor read_npy(const std::string& path) {
  return read_npy_bytes(read_input_file(path, "a .npy file"), path);
}

std::string npy_bytes(const torch::Tensor& t, const std::string& name) {
  const Dtype& dtype = dtype_for_tensor(t.scalar_type(), name);
  const torch::Tensor c = t.contiguous().cpu();
  const std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
  const std::string dict = "{'descr': '" + std::string(dtype.descr) +
                           "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  // As NumPy does: at least one space of padding, then '\n', so the data is 64-byte aligned.
  const size_t text_len = dict.size() + 1;
  size_t prelude = kPreludeV1;
  size_t pad = kAlign - (prelude + text_len) % kAlign;
  if (text_len + pad > std::numeric_limits<uint16_t>::max()) {
    prelude = kPreludeV2;
    pad = kAlign - (prelude + text_len) % kAlign;
  }
  const size_t data_len = static_cast<size_t>(c.numel()) * dtype.size;
  std::string out;
  out.reserve(prelude + text_len + pad + data_len);
  out.append(kMagic);
  out.push_back(static_cast<char>(prelude == kPreludeV1 ? 1 : 2));
  out.push_back(0);
  append_le(out, static_cast<uint32_t>(text_len + pad), prelude - 8);
  out.append(dict);
  out.append(pad, ' ');
  out.push_back('\n');
  if (data_len > 0) out.append(static_cast<const char*>(c.data_ptr()), data_len);
  return out;
}

void write_npy(const std::string& path, const torch::Tensor& t) {
  const std::string bytes = npy_bytes(t, path);
  util::write_file_atomically(path, [&](std::ostream& out) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

}  // namespace lowbit::data
