/* Weight format traits table and the reference packer/unpacker. */
#include "lowbit_internal.h"

/* One row per lowbit_format_t, in enum order: lowbit_format_traits() indexes it directly. */
static const lowbit_format_traits_t kLowbitFormats[LOWBIT_FORMAT_COUNT] = {
    {"int8", LOWBIT_FORMAT_INT8, 8, 1, LOWBIT_ENCODING_TWOS_COMPLEMENT, -128, 127},
    {"int4", LOWBIT_FORMAT_INT4, 4, 2, LOWBIT_ENCODING_TWOS_COMPLEMENT, -8, 7},
    {"int2", LOWBIT_FORMAT_INT2, 2, 4, LOWBIT_ENCODING_TWOS_COMPLEMENT, -2, 1},
    {"binary", LOWBIT_FORMAT_BINARY, 1, 8, LOWBIT_ENCODING_ODD_GRID, -1, 1},
    {"sym2", LOWBIT_FORMAT_SYM2, 2, 4, LOWBIT_ENCODING_ODD_GRID, -3, 3},
    {"sym4", LOWBIT_FORMAT_SYM4, 4, 2, LOWBIT_ENCODING_ODD_GRID, -15, 15},
};

/* C99 has no static_assert: a negative array size fails the build instead. */
typedef char lowbit_assert_table_complete
    [(sizeof(kLowbitFormats) / sizeof(kLowbitFormats[0]) == (size_t)LOWBIT_FORMAT_COUNT) ? 1 : -1];
typedef char lowbit_assert_byte_is_8_bits[(UINT8_MAX == 255) ? 1 : -1];

const lowbit_format_traits_t* lowbit_format_traits(lowbit_format_t format) {
  /* Unsigned: a negative value is out of range too, and short enums (Arm EABI) warn on "< 0". */
  if ((unsigned)format >= (unsigned)LOWBIT_FORMAT_COUNT) return NULL;
  return &kLowbitFormats[format];
}

int lowbit_format_has_code(lowbit_format_t format, int32_t code) {
  const lowbit_format_traits_t* traits = lowbit_format_traits(format);
  if (traits == NULL) return 0;
  if (code < traits->code_min || code > traits->code_max) return 0;
  if (traits->encoding == LOWBIT_ENCODING_ODD_GRID && (code % 2) == 0) return 0;
  return 1;
}

size_t lowbit_packed_row_bytes(lowbit_format_t format, size_t row_length) {
  const lowbit_format_traits_t* traits = lowbit_format_traits(format);
  if (traits == NULL || row_length == 0) return 0;
  /* Dividing first keeps row_length * bits from overflowing for huge rows. */
  return row_length / traits->codes_per_byte + (row_length % traits->codes_per_byte != 0 ? 1 : 0);
}

size_t lowbit_packed_size(lowbit_format_t format, size_t rows, size_t row_length) {
  if (rows == 0) return 0;
  return lowbit_mul_size(rows, lowbit_packed_row_bytes(format, row_length));
}

/* The stored field of a representable code. */
static uint32_t lowbit_encode_code(const lowbit_format_traits_t* traits, int32_t code) {
  const uint32_t bits = traits->bits;
  if (traits->encoding == LOWBIT_ENCODING_ODD_GRID) {
    return (uint32_t)((code + (int32_t)((UINT32_C(1) << bits) - 1u)) / 2);
  }
  return (uint32_t)code & ((UINT32_C(1) << bits) - 1u);
}

lowbit_status_t lowbit_pack_weights(lowbit_format_t format, const int8_t* codes, size_t rows,
                                    size_t row_length, uint8_t* packed, size_t packed_size) {
  const lowbit_format_traits_t* traits = lowbit_format_traits(format);
  size_t row_bytes;
  size_t r;
  size_t j;
  if (codes == NULL || packed == NULL || rows == 0 || row_length == 0) return LOWBIT_ERR_ARG;
  if (traits == NULL) return LOWBIT_ERR_FORMAT;
  if (packed_size == 0 || packed_size != lowbit_packed_size(format, rows, row_length)) {
    return LOWBIT_ERR_BUFFER;
  }
  row_bytes = packed_size / rows;
  for (r = 0; r < rows; ++r) {
    const int8_t* row_codes = codes + r * row_length;
    uint8_t* row = packed + r * row_bytes;
    for (j = 0; j < row_bytes; ++j) row[j] = 0;
    for (j = 0; j < row_length; ++j) {
      const size_t bit = j * (size_t)traits->bits;
      if (!lowbit_format_has_code(format, row_codes[j])) return LOWBIT_ERR_RANGE;
      row[bit >> 3] |= (uint8_t)(lowbit_encode_code(traits, row_codes[j]) << (bit & 7u));
    }
  }
  return LOWBIT_OK;
}

/* Decodes row_length codes of one packed row into codes (no checks; the caller validated). */
static void lowbit_unpack_row(const lowbit_format_traits_t* traits, const uint8_t* row,
                              size_t row_length, int8_t* codes) {
  size_t j;
  for (j = 0; j < row_length; ++j) {
    codes[j] = (int8_t)lowbit_decode_field(traits, lowbit_field_at(row, j, traits->bits));
  }
}

lowbit_status_t lowbit_unpack_weights(lowbit_format_t format, const uint8_t* packed,
                                      size_t packed_size, size_t rows, size_t row_length,
                                      int8_t* codes) {
  const lowbit_format_traits_t* traits = lowbit_format_traits(format);
  size_t row_bytes;
  size_t used_bits;
  size_t r;
  if (codes == NULL || packed == NULL || rows == 0 || row_length == 0) return LOWBIT_ERR_ARG;
  if (traits == NULL) return LOWBIT_ERR_FORMAT;
  if (packed_size == 0 || packed_size != lowbit_packed_size(format, rows, row_length)) {
    return LOWBIT_ERR_BUFFER;
  }
  row_bytes = packed_size / rows;
  used_bits = (row_length % traits->codes_per_byte) * traits->bits;
  for (r = 0; r < rows; ++r) {
    const uint8_t* row = packed + r * row_bytes;
    /* Non-zero padding means the producer used another layout; refuse rather than guess. */
    if (used_bits != 0 && (row[row_bytes - 1] >> used_bits) != 0) return LOWBIT_ERR_RANGE;
    lowbit_unpack_row(traits, row, row_length, codes + r * row_length);
  }
  return LOWBIT_OK;
}
