/* The x86 fully connected kernel, a template: fully_connected_sse2.c includes it for SSE2 and
 * fully_connected_avx2.c for AVX2 (compiled for that target and chosen at run time), each after
 * defining LOWBIT_FC_X86_NAME (the entry function's name) and LOWBIT_FC_X86_AVX2 (0 or 1).
 *
 * Four rows per pass, each row's blocks summed in int32 vector lanes with pmaddwd (16 bytes a
 * block with SSE2, 32 and a last 16 with AVX2), one transposing reduction for the four rows and
 * vector requantization of the four outputs. Exact: the dot products of layers up to
 * LOWBIT_FC_INT32_INPUTS inputs fit int32, so sums that wrap in between (the field sums and
 * offset * x_sum) still give them. Internal to the runtime. */
#ifndef LOWBIT_FULLY_CONNECTED_SIMD_H_
#define LOWBIT_FULLY_CONNECTED_SIMD_H_

#include "fully_connected_internal.h"
#include "lowbit_requant_sums.h"

#if LOWBIT_FC_X86_AVX2
#include <immintrin.h>
#endif

/* acc + pmaddwd(field f of the eight words, lane f at this block); the top field needs no mask. */
LOWBIT_FORCE_INLINE __m128i lowbit_fc_sse2_field(__m128i acc, __m128i words, const int16_t* lanes,
                                                 size_t stride, uint32_t bits, uint32_t f) {
  __m128i field = _mm_srli_epi16(words, (int)(f * bits));
  if (f + 1 < 16u / bits) {
    field = _mm_and_si128(field, _mm_set1_epi16((int16_t)((1u << bits) - 1u)));
  }
  return _mm_add_epi32(acc,
                       _mm_madd_epi16(field, _mm_load_si128((const __m128i*)(lanes + f * stride))));
}

/* The statements that add the products of all fields of one block to acc, calling
 * FIELD(acc, w, l, n, bits, f). The fields are spelled out per bit width rather than looped over:
 * the shifts must be constants, and gcc -O2 keeps such a loop. */
#define LOWBIT_FC_ALL_FIELDS(FIELD)      \
  acc = FIELD(acc, w, l, n, bits, 0);    \
  acc = FIELD(acc, w, l, n, bits, 1);    \
  if (bits <= 4) {                       \
    acc = FIELD(acc, w, l, n, bits, 2);  \
    acc = FIELD(acc, w, l, n, bits, 3);  \
  }                                      \
  if (bits <= 2) {                       \
    acc = FIELD(acc, w, l, n, bits, 4);  \
    acc = FIELD(acc, w, l, n, bits, 5);  \
    acc = FIELD(acc, w, l, n, bits, 6);  \
    acc = FIELD(acc, w, l, n, bits, 7);  \
  }                                      \
  if (bits == 1) {                       \
    acc = FIELD(acc, w, l, n, bits, 8);  \
    acc = FIELD(acc, w, l, n, bits, 9);  \
    acc = FIELD(acc, w, l, n, bits, 10); \
    acc = FIELD(acc, w, l, n, bits, 11); \
    acc = FIELD(acc, w, l, n, bits, 12); \
    acc = FIELD(acc, w, l, n, bits, 13); \
    acc = FIELD(acc, w, l, n, bits, 14); \
    acc = FIELD(acc, w, l, n, bits, 15); \
  }

/* acc + the products of all fields of one block. */
LOWBIT_FORCE_INLINE __m128i lowbit_fc_sse2_block(__m128i acc, __m128i w, const int16_t* l, size_t n,
                                                 uint32_t bits) {
  LOWBIT_FC_ALL_FIELDS(lowbit_fc_sse2_field)
  return acc;
}

/* The 16 bytes at p, or (checked, near the end of the weights) its bytes before end zero-padded. */
LOWBIT_FORCE_INLINE __m128i lowbit_fc_sse2_load(const uint8_t* p, const uint8_t* end, int checked) {
  if (checked && (size_t)(end - p) < 16u) {
    uint8_t tail[16];
    lowbit_fc_tail_bytes(p, (size_t)(end - p), tail, sizeof tail);
    return _mm_loadu_si128((const __m128i*)tail);
  }
  return _mm_loadu_si128((const __m128i*)p);
}

#if LOWBIT_FC_X86_AVX2
/* The AVX2 forms of the field, block, load and rows4 steps above: 16 words (32 bytes) a block. */
LOWBIT_FORCE_INLINE __m256i lowbit_fc_avx2_field(__m256i acc, __m256i words, const int16_t* lanes,
                                                 size_t stride, uint32_t bits, uint32_t f) {
  __m256i field = _mm256_srli_epi16(words, (int)(f * bits));
  if (f + 1 < 16u / bits) {
    field = _mm256_and_si256(field, _mm256_set1_epi16((int16_t)((1u << bits) - 1u)));
  }
  return _mm256_add_epi32(
      acc, _mm256_madd_epi16(field, _mm256_loadu_si256((const __m256i*)(lanes + f * stride))));
}

LOWBIT_FORCE_INLINE __m256i lowbit_fc_avx2_block(__m256i acc, __m256i w, const int16_t* l, size_t n,
                                                 uint32_t bits) {
  LOWBIT_FC_ALL_FIELDS(lowbit_fc_avx2_field)
  return acc;
}

LOWBIT_FORCE_INLINE __m256i lowbit_fc_avx2_load(const uint8_t* p, const uint8_t* end, int checked) {
  if (checked && (size_t)(end - p) < 32u) {
    uint8_t tail[32];
    lowbit_fc_tail_bytes(p, (size_t)(end - p), tail, sizeof tail);
    return _mm256_loadu_si256((const __m256i*)tail);
  }
  return _mm256_loadu_si256((const __m256i*)p);
}

/* The two 128-bit halves of a, added. */
LOWBIT_FORCE_INLINE __m128i lowbit_fc_avx2_fold(__m256i a) {
  return _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
}
#endif

/* [sum_i (x_i - zp) g_i] of rows r0..r3, as four int32 lanes (modulo 2^32): with AVX2 in blocks
 * of 32 bytes and a last one of 16, else in blocks of 16. */
LOWBIT_FORCE_INLINE __m128i lowbit_fc_x86_rows4(const uint8_t* r0, const uint8_t* r1,
                                                const uint8_t* r2, const uint8_t* r3,
                                                const uint8_t* end, const int16_t* lanes,
                                                size_t stride, uint32_t bits, __m128i flip,
                                                int checked) {
  __m128i a0 = _mm_setzero_si128();
  __m128i a1 = _mm_setzero_si128();
  __m128i a2 = _mm_setzero_si128();
  __m128i a3 = _mm_setzero_si128();
  __m128i t0;
  __m128i t1;
  size_t m = 0;
#if LOWBIT_FC_X86_AVX2
  if (stride >= 16) {
    const __m256i flip2 = _mm256_broadcastsi128_si256(flip);
    __m256i b0 = _mm256_setzero_si256();
    __m256i b1 = _mm256_setzero_si256();
    __m256i b2 = _mm256_setzero_si256();
    __m256i b3 = _mm256_setzero_si256();
    for (; m + 16 <= stride; m += 16) {
      const int16_t* l = lanes + m;
      b0 = lowbit_fc_avx2_block(
          b0, _mm256_xor_si256(lowbit_fc_avx2_load(r0 + 2 * m, end, checked), flip2), l, stride,
          bits);
      b1 = lowbit_fc_avx2_block(
          b1, _mm256_xor_si256(lowbit_fc_avx2_load(r1 + 2 * m, end, checked), flip2), l, stride,
          bits);
      b2 = lowbit_fc_avx2_block(
          b2, _mm256_xor_si256(lowbit_fc_avx2_load(r2 + 2 * m, end, checked), flip2), l, stride,
          bits);
      b3 = lowbit_fc_avx2_block(
          b3, _mm256_xor_si256(lowbit_fc_avx2_load(r3 + 2 * m, end, checked), flip2), l, stride,
          bits);
    }
    a0 = lowbit_fc_avx2_fold(b0);
    a1 = lowbit_fc_avx2_fold(b1);
    a2 = lowbit_fc_avx2_fold(b2);
    a3 = lowbit_fc_avx2_fold(b3);
  }
#endif
  for (; m < stride; m += LOWBIT_FC_BLOCK_BYTES / 2) {
    const int16_t* l = lanes + m;
    a0 = lowbit_fc_sse2_block(
        a0, _mm_xor_si128(lowbit_fc_sse2_load(r0 + 2 * m, end, checked), flip), l, stride, bits);
    a1 = lowbit_fc_sse2_block(
        a1, _mm_xor_si128(lowbit_fc_sse2_load(r1 + 2 * m, end, checked), flip), l, stride, bits);
    a2 = lowbit_fc_sse2_block(
        a2, _mm_xor_si128(lowbit_fc_sse2_load(r2 + 2 * m, end, checked), flip), l, stride, bits);
    a3 = lowbit_fc_sse2_block(
        a3, _mm_xor_si128(lowbit_fc_sse2_load(r3 + 2 * m, end, checked), flip), l, stride, bits);
  }
  /* Transposing reduction: lane r of the result is the sum of a_r's four lanes. */
  t0 = _mm_add_epi32(_mm_unpacklo_epi32(a0, a1), _mm_unpackhi_epi32(a0, a1));
  t1 = _mm_add_epi32(_mm_unpacklo_epi32(a2, a3), _mm_unpackhi_epi32(a2, a3));
  return _mm_add_epi32(_mm_unpacklo_epi64(t0, t1), _mm_unpackhi_epi64(t0, t1));
}

/* The lanes of input row x (see lowbit_fc_prepare); returns the sum of x - zp. For 8- and 4-bit
 * formats 16 inputs at a time: widened to int16 and transposed in registers, so that lane f
 * receives inputs f, f + fpw, ... as one store. */
LOWBIT_FORCE_INLINE int64_t lowbit_fc_sse2_prepare(const int8_t* x, size_t n, int32_t zp,
                                                   uint32_t bits, size_t stride, int16_t* lanes) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i zp16 = _mm_set1_epi16((int16_t)zp);
  __m128i sums = zero;
  int32_t sum4[4];
  size_t i = 0;
  if (bits == 8 || bits == 4) {
    for (; i + 16 <= n; i += 16) {
      const __m128i raw = _mm_loadu_si128((const __m128i*)(x + i));
      const __m128i sign = _mm_cmpgt_epi8(zero, raw);
      const __m128i v0 = _mm_sub_epi16(_mm_unpacklo_epi8(raw, sign), zp16); /* inputs 0..7 */
      const __m128i v1 = _mm_sub_epi16(_mm_unpackhi_epi8(raw, sign), zp16); /* inputs 8..15 */
      const __m128i t0 = _mm_unpacklo_epi16(v0, v1);
      const __m128i t1 = _mm_unpackhi_epi16(v0, v1);
      const __m128i u0 = _mm_unpacklo_epi16(t0, t1); /* inputs 0 4 8 12 1 5 9 13 */
      const __m128i u1 = _mm_unpackhi_epi16(t0, t1); /* inputs 2 6 10 14 3 7 11 15 */
      int16_t* at = lanes + i / (16u / bits);
      /* |v0 + v1| <= 510: the pair sums fit int16 */
      sums = _mm_add_epi32(sums, _mm_madd_epi16(_mm_add_epi16(v0, v1), _mm_set1_epi16(1)));
      if (bits == 4) {
        _mm_storel_epi64((__m128i*)at, u0);
        _mm_storel_epi64((__m128i*)(at + stride), _mm_unpackhi_epi64(u0, u0));
        _mm_storel_epi64((__m128i*)(at + 2 * stride), u1);
        _mm_storel_epi64((__m128i*)(at + 3 * stride), _mm_unpackhi_epi64(u1, u1));
      } else {
        _mm_storeu_si128((__m128i*)at, _mm_unpacklo_epi16(u0, u1)); /* even inputs */
        _mm_storeu_si128((__m128i*)(at + stride), _mm_unpackhi_epi16(u0, u1));
      }
    }
  }
  _mm_storeu_si128((__m128i*)sum4, sums);
  return (int64_t)sum4[0] + sum4[1] + sum4[2] + sum4[3] +
         lowbit_fc_prepare(x, n, zp, bits, stride, i / (16u / bits), lanes);
}

/* One sample of a validated layer for one bit width (a constant after inlining). */
LOWBIT_FORCE_INLINE void lowbit_fc_sse2_sample(const lowbit_fc_params_t* params, const int8_t* x,
                                               const uint8_t* weights, size_t row_bytes,
                                               const int32_t* bias, int16_t* lanes, size_t stride,
                                               uint32_t bits, int8_t* y) {
  const int64_t x_sum =
      lowbit_fc_sse2_prepare(x, params->in_features, params->input_zero_point, bits, stride, lanes);
  const lowbit_fc_fields_t f =
      lowbit_fc_fields(bits, lowbit_format_traits(params->weight_format)->encoding);
  const __m128i flip = _mm_set1_epi16((int16_t)f.flip);
  const size_t out_features = params->out_features;
  const int per_channel = params->requant.count != 1;
  const uint8_t* const end = weights + row_bytes * out_features;
  /* Bytes a row's blocks span: rows starting this far before end need no checked loads. */
  const size_t span = stride * 2;
  /* offset * x_sum modulo 2^32 (the dot product is exact modulo 2^32 and fits int32). */
  const __m128i offset_sum =
      _mm_set1_epi32((int32_t)(uint32_t)((uint64_t)(int64_t)f.offset * (uint64_t)x_sum));
  /* Per-layer: entry 0 in every lane; per-channel: replaced lane by lane for each pass. */
  lowbit_sse2_requant_t q = lowbit_sse2_requant(&params->requant, 0);
  size_t o;
  for (o = 0; o < out_features; o += 4) {
    /* The last pass of a layer whose out_features is no multiple of 4 repeats its last row. */
    const size_t valid = out_features - o < 4 ? out_features - o : 4;
    const size_t r1i = o + (valid > 1 ? 1 : 0);
    const size_t r2i = o + (valid > 2 ? 2 : valid - 1);
    const size_t r3i = o + valid - 1;
    const uint8_t* r0 = weights + o * row_bytes;
    const uint8_t* r1 = weights + r1i * row_bytes;
    const uint8_t* r2 = weights + r2i * row_bytes;
    const uint8_t* r3 = weights + r3i * row_bytes;
    int8_t lane_out[4];
    __m128i s;
    __m128i b4 = _mm_setzero_si128();
    __m128i y4;
    size_t r;
    if ((size_t)(end - r3) >= span) {
      s = lowbit_fc_x86_rows4(r0, r1, r2, r3, end, lanes, stride, bits, flip, 0);
    } else {
      s = lowbit_fc_x86_rows4(r0, r1, r2, r3, end, lanes, stride, bits, flip, 1);
    }
    if (f.scale == 2) s = _mm_add_epi32(s, s);
    /* Per-lane values straight into registers: scalar stores to an array read back as one vector
     * would stall store forwarding. */
    if (bias != NULL) {
      b4 = valid == 4 ? _mm_loadu_si128((const __m128i*)(bias + o))
                      : _mm_set_epi32(bias[r3i], bias[r2i], bias[r1i], bias[o]);
    }
    if (per_channel) {
      const int32_t* mult = params->requant.multiplier;
      const int32_t* shift = params->requant.shift;
      q.multiplier = valid == 4 ? _mm_loadu_si128((const __m128i*)(mult + o))
                                : _mm_set_epi32(mult[r3i], mult[r2i], mult[r1i], mult[o]);
      q.count[0] = _mm_cvtsi32_si128(30 - shift[o]);
      q.count[1] = _mm_cvtsi32_si128(30 - shift[r1i]);
      q.count[2] = _mm_cvtsi32_si128(30 - shift[r2i]);
      q.count[3] = _mm_cvtsi32_si128(30 - shift[r3i]);
    }
    s = lowbit_sse2_adds_epi32(b4, _mm_sub_epi32(s, offset_sum));
    s = lowbit_sse2_scale(s, &q, !per_channel);
    y4 = lowbit_sse2_finish(s, s, &q);
    if (valid == 4) {
      lowbit_sse2_store4(y + o, y4);
    } else {
      lowbit_sse2_store4(lane_out, y4);
      for (r = 0; r < valid; ++r) y[o + r] = lane_out[r];
    }
  }
}

/* All samples of a validated layer for one bit width (a constant after inlining). */
LOWBIT_FORCE_INLINE void lowbit_fc_x86_layer(const lowbit_fc_params_t* params, const int8_t* input,
                                             const uint8_t* weights, size_t row_bytes,
                                             const int32_t* bias, int8_t* output, int16_t* lanes,
                                             uint32_t bits) {
  const size_t stride = lowbit_fc_lane_stride(params->in_features, bits);
  size_t b;
  for (b = 0; b < params->batch; ++b) {
    lowbit_fc_sse2_sample(params, input + b * params->in_features, weights, row_bytes, bias, lanes,
                          stride, bits, output + b * params->out_features);
  }
}

void LOWBIT_FC_X86_NAME(const lowbit_fc_params_t* params, const int8_t* input,
                        const uint8_t* weights, size_t row_bytes, const int32_t* bias,
                        int8_t* output, int16_t* lanes) {
  switch (lowbit_format_traits(params->weight_format)->bits) {
    case 8:
      lowbit_fc_x86_layer(params, input, weights, row_bytes, bias, output, lanes, 8);
      break;
    case 4:
      lowbit_fc_x86_layer(params, input, weights, row_bytes, bias, output, lanes, 4);
      break;
    case 2:
      lowbit_fc_x86_layer(params, input, weights, row_bytes, bias, output, lanes, 2);
      break;
    default:
      lowbit_fc_x86_layer(params, input, weights, row_bytes, bias, output, lanes, 1);
      break;
  }
}

#endif /* LOWBIT_FULLY_CONNECTED_SIMD_H_ */
