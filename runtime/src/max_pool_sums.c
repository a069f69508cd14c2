/* The max pooling of int32 conv sums behind lowbit_conv2d_max_pool_s8: only pooled sums are
 * requantized.
 *
 * Requantization (with its saturation and clamp) never decreases, so the largest requantized
 * value of a window is the requantized largest sum: pooling the int32 sums first and then
 * requantizing gives exactly lowbit_conv2d_s8 followed by lowbit_max_pool_s8, with a quarter of
 * the requantizations for 2x2 windows and no int8 conv output in memory. The conv2d driver
 * (conv2d.c) calls it once per output channel. */
#include "conv2d_internal.h"

size_t lowbit_internal_pool_sums_bytes(const lowbit_pool_params_t* pool) {
  size_t out_h;
  size_t out_w;
  size_t plane;
  if (lowbit_pool_output_shape(pool, &out_h, &out_w) != LOWBIT_OK) return 0;
  plane = lowbit_mul_size(pool->in_height, pool->in_width);
  if (plane == 0 || pool->in_width > SIZE_MAX - out_w ||
      plane > SIZE_MAX - pool->in_width - out_w) {
    return 0;
  }
  return lowbit_mul_size(plane + pool->in_width + out_w, sizeof(int32_t));
}

/* dst[j] = max(dst[j], src[j]) for j < count (a constant after inlining: the loop vectorizes;
 * restrict, because gcc's -O2 cost model vectorizes no loop that needs a run-time alias check). */
LOWBIT_FORCE_INLINE void lowbit_max_into(int32_t* restrict dst, const int32_t* restrict src,
                                         int count) {
  int j;
  LOWBIT_KEEP_LOOP
  for (j = 0; j < count; ++j) dst[j] = src[j] > dst[j] ? src[j] : dst[j];
}

/* dst[j] = src[j] for j < count, as constant-length (vectorized) copies: scalar stores followed
 * by vector loads of the same bytes would stall store forwarding. */
LOWBIT_FORCE_INLINE void lowbit_copy_into(int32_t* restrict dst, const int32_t* restrict src,
                                          int count) {
  int j;
  LOWBIT_KEEP_LOOP
  for (j = 0; j < count; ++j) dst[j] = src[j];
}

/* Columns [first, width) of the element-wise maximum of rows y0 .. y1 - 1 into maxima, in
 * blocks of 16, 8, then 1. */
static void lowbit_max_rows(const int32_t* sums, size_t width, size_t y0, size_t y1, size_t first,
                            int32_t* restrict maxima) {
  const int32_t* restrict top = sums + y0 * width;
  size_t x = first;
  size_t iy;
  for (; x + 16 <= width; x += 16) lowbit_copy_into(maxima + x, top + x, 16);
  for (; x + 8 <= width; x += 8) lowbit_copy_into(maxima + x, top + x, 8);
  for (; x < width; ++x) maxima[x] = top[x];
  for (iy = y0 + 1; iy < y1; ++iy) {
    const int32_t* restrict row = sums + iy * width;
    for (x = first; x + 16 <= width; x += 16) lowbit_max_into(maxima + x, row + x, 16);
    for (; x + 8 <= width; x += 8) lowbit_max_into(maxima + x, row + x, 8);
    for (; x < width; ++x) lowbit_max_into(maxima + x, row + x, 1);
  }
}

/* pooled[px] for px < out_w: the largest sum of window px over rows y0 .. y1 - 1. */
static void lowbit_pool_row(const lowbit_pool_params_t* pool, const int32_t* sums, size_t y0,
                            size_t y1, size_t out_w, int32_t* maxima, int32_t* pooled) {
  const size_t width = pool->in_width;
  size_t px = 0;
#if LOWBIT_SSE2
  /* The common 2-wide, stride-2 window without left padding: four outputs from eight columns of
   * each row, split into even and odd columns, with no row of maxima in memory. */
  if (pool->kernel_w == 2 && pool->stride_w == 2 && pool->pad_left == 0) {
    for (; px + 4 <= out_w && 2 * px + 8 <= width; px += 4) {
      const int32_t* at = sums + y0 * width + 2 * px;
      __m128i a = _mm_loadu_si128((const __m128i*)at);
      __m128i b = _mm_loadu_si128((const __m128i*)(at + 4));
      size_t iy;
      for (iy = y0 + 1; iy < y1; ++iy) {
        at += width;
        a = lowbit_sse2_max_epi32(a, _mm_loadu_si128((const __m128i*)at));
        b = lowbit_sse2_max_epi32(b, _mm_loadu_si128((const __m128i*)(at + 4)));
      }
      a = _mm_shuffle_epi32(a, 0xD8); /* columns 0, 2, 1, 3 */
      b = _mm_shuffle_epi32(b, 0xD8);
      _mm_storeu_si128((__m128i*)(pooled + px),
                       lowbit_sse2_max_epi32(_mm_unpacklo_epi64(a, b), _mm_unpackhi_epi64(a, b)));
    }
  }
#endif
  if (px < out_w) {
    size_t first;
    size_t end;
    /* Rows first (element-wise, vectorized) from the first column still needed, then columns. */
    lowbit_internal_window_range(px, pool->stride_w, pool->pad_left, pool->kernel_w, width, &first,
                                 &end);
    lowbit_max_rows(sums, width, y0, y1, first, maxima);
    for (; px < out_w; ++px) {
      size_t x0;
      size_t x1;
      size_t ix;
      int32_t best;
      lowbit_internal_window_range(px, pool->stride_w, pool->pad_left, pool->kernel_w, width, &x0,
                                   &x1);
      best = maxima[x0];
      for (ix = x0 + 1; ix < x1; ++ix) best = maxima[ix] > best ? maxima[ix] : best;
      pooled[px] = best;
    }
  }
}

void lowbit_internal_max_pool_sums(const lowbit_pool_params_t* pool, size_t out_h, size_t out_w,
                                   int32_t* sums, const lowbit_channel_requant_t* rq, int8_t* out) {
  int32_t* maxima = sums + pool->in_height * pool->in_width;
  int32_t* pooled = maxima + pool->in_width;
  size_t py;
  for (py = 0; py < out_h; ++py) {
    size_t y0;
    size_t y1;
    lowbit_internal_window_range(py, pool->stride_h, pool->pad_top, pool->kernel_h, pool->in_height,
                                 &y0, &y1);
    lowbit_pool_row(pool, sums, y0, y1, out_w, maxima, pooled);
    lowbit_requantize_sums(rq, pooled, out + py * out_w, out_w);
  }
}
