/* What the portable and the SSE2 fully connected kernels share: the input lanes and the affine
 * view of the packed fields. Internal to the runtime.
 *
 * A row of packed weights is read as little-endian 16-bit words (byte 2m low, byte 2m + 1 high):
 * word m holds fpw = 16 / bits fields, field f (bits f * bits ...) being weight m * fpw + f. The
 * input is prepared once per sample into fpw int16 "lanes" in scratch, lane f holding
 * x[m * fpw + f] - zero_point at index m (0 past the end), so field f of word m of every row
 * meets lane f at index m: a row's dot product is fpw element-wise products of contiguous
 * streams, 8 words (16 bytes) per block. A row's last block reads on into the next row, whose
 * bytes meet zero lanes; only where that would leave the weight array are the last bytes copied
 * into a zero-padded block.
 *
 * The fields are read as g = ((word ^ flip) >> (f * bits)) & mask, and every format's code is
 * affine in g: two's complement flips each field's top bit (flip = 0x8080, 0x8888 or 0xAAAA),
 * giving w = g - 2^(bits - 1); the odd grid reads the field as is, w = 2 g - (2^bits - 1). So
 *   sum_i (x_i - zp) w_i = scale * sum_i (x_i - zp) g_i - offset * sum_i (x_i - zp),
 * exactly, with the second sum formed once per sample. */
#ifndef LOWBIT_FULLY_CONNECTED_INTERNAL_H_
#define LOWBIT_FULLY_CONNECTED_INTERNAL_H_

#include "lowbit_internal.h"

/** Packed bytes per block: 8 words. */
#define LOWBIT_FC_BLOCK_BYTES 16u

/** Largest in_features whose dot product, |sum| <= n * 255 * 128, is an exact int32: the x86
 * kernels sum in int32 lanes and take layers up to this size; larger ones run the portable
 * kernel. (Defined smaller, the tests send their golden layers down both paths.) */
#ifndef LOWBIT_FC_INT32_INPUTS
#define LOWBIT_FC_INT32_INPUTS 65793u
#endif

/** The affine view of a format's fields: code = scale * g - offset, g read after XOR with flip. */
typedef struct {
  uint32_t flip;  /**< XOR pattern of one 16-bit word. */
  int32_t scale;  /**< 1, or 2 for the odd grid. */
  int32_t offset; /**< 2^(bits - 1), or 2^bits - 1 for the odd grid. */
} lowbit_fc_fields_t;

/** The field view of a format (bit width and encoding); inline, so that it folds to constants in
 * the kernels' copies specialized per bit width. */
static inline lowbit_fc_fields_t lowbit_fc_fields(uint32_t bits, lowbit_encoding_t encoding) {
  lowbit_fc_fields_t f;
  const uint32_t top = UINT32_C(1) << (bits - 1u);
  uint32_t j;
  f.flip = 0;
  if (encoding == LOWBIT_ENCODING_ODD_GRID) {
    f.scale = 2;
    f.offset = (int32_t)((UINT32_C(1) << bits) - 1u);
  } else {
    for (j = 0; j < 16u; j += bits) f.flip |= top << j;
    f.scale = 1;
    f.offset = (int32_t)top;
  }
  return f;
}

/** int16 values per lane for n inputs at a bit width: the words of a packed row,
 * ceil(n * bits / 16), rounded up to whole blocks (0 on overflow). Written without division: it
 * runs on every call. */
static inline size_t lowbit_fc_lane_stride(size_t n, uint32_t bits) {
  const size_t block = LOWBIT_FC_BLOCK_BYTES / 2;
  const size_t words = n / 16u * bits + ((n % 16u) * bits + 15u) / 16u;
  return words > SIZE_MAX - block ? 0 : (words + block - 1) / block * block;
}

/** Writes input row x (n values) minus zp into the lanes from word `first` on (lane f at
 * lanes + f * stride, 0 past the end); returns the sum of those x - zp. Inlined per bit width,
 * so the lane loop is constant. */
LOWBIT_FORCE_INLINE int64_t lowbit_fc_prepare(const int8_t* x, size_t n, int32_t zp, uint32_t bits,
                                              size_t stride, size_t first, int16_t* lanes) {
  const uint32_t fpw = 16u / bits;
  const size_t whole = n / fpw;
  int64_t sum = 0;
  size_t m;
  uint32_t f;
  for (m = first; m < whole; ++m) {
    for (f = 0; f < fpw; ++f) {
      const int16_t value = (int16_t)((int32_t)x[m * fpw + f] - zp);
      lanes[f * stride + m] = value;
      sum += value;
    }
  }
  for (f = 0; f < fpw; ++f) {
    for (m = whole > first ? whole : first; m < stride; ++m) {
      const size_t i = m * fpw + f;
      const int16_t value = (int16_t)(i < n ? (int32_t)x[i] - zp : 0);
      lanes[f * stride + m] = value;
      sum += value;
    }
  }
  return sum;
}

/** Copies the `available` bytes at p (fewer than size) into tail[size], zero-padding the rest. */
static inline void lowbit_fc_tail_bytes(const uint8_t* p, size_t available, uint8_t* tail,
                                        size_t size) {
  size_t t;
  for (t = 0; t < size; ++t) tail[t] = t < available ? p[t] : 0;
}

/** Bytes of lanes for a row of n inputs at a format: 16 / bits = 2 * codes_per_byte lanes of
 * lowbit_fc_lane_stride int16 each (0 on overflow). */
size_t lowbit_internal_fc_lane_bytes(const lowbit_format_traits_t* traits, size_t n);

/** The int32 sums bias[o] + sum_i (x_i - zero_point) w[o][i] of one sample (exact, saturated once)
 * through the portable kernel: for the kernels that need the sums before they requantize (the
 * per-sample shift). lanes: aligned scratch of lowbit_internal_fc_lane_bytes(). */
void lowbit_internal_fc_sums(const lowbit_format_traits_t* traits, const int8_t* x,
                             size_t in_features, size_t out_features, int32_t zero_point,
                             const uint8_t* weights, size_t row_bytes, const int32_t* bias,
                             int32_t* sums, int16_t* lanes);

#if LOWBIT_SSE2
/** A validated layer with in_features <= LOWBIT_FC_INT32_INPUTS, all samples, through the SSE2
 * kernel; lanes: the aligned scratch. */
void lowbit_internal_fc_layer_sse2(const lowbit_fc_params_t* params, const int8_t* input,
                                   const uint8_t* weights, size_t row_bytes, const int32_t* bias,
                                   int8_t* output, int16_t* lanes);
#endif

#if LOWBIT_AVX2
/** The same through the AVX2 kernel (only where lowbit_internal_has_avx2()). */
void lowbit_internal_fc_layer_avx2(const lowbit_fc_params_t* params, const int8_t* input,
                                   const uint8_t* weights, size_t row_bytes, const int32_t* bias,
                                   int8_t* output, int16_t* lanes);
#endif

#endif /* LOWBIT_FULLY_CONNECTED_INTERNAL_H_ */
