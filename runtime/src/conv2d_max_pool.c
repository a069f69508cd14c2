/* Conv2d fused with the max pooling of its output: only pooled sums are requantized.
 *
 * Requantization (with its saturation and clamp) never decreases, so the largest requantized
 * value of a window is the requantized largest sum: pooling the int32 sums first and then
 * requantizing gives exactly lowbit_conv2d_s8 followed by lowbit_max_pool_s8, with a quarter of
 * the requantizations for 2x2 windows and no int8 conv output in memory. */
#include "lowbit_internal.h"

size_t lowbit_internal_pool_sums_bytes(const lowbit_pool_params_t* pool) {
  const size_t plane = lowbit_mul_size(pool->in_height, pool->in_width);
  if (plane == 0 || plane > SIZE_MAX - pool->in_width) return 0;
  return lowbit_mul_size(plane + pool->in_width, sizeof(int32_t));
}

/* dst[j] = max(dst[j], src[j]) for j < count (a constant after inlining: the loop vectorizes;
 * restrict, because gcc's -O2 cost model vectorizes no loop that needs a run-time alias check). */
LOWBIT_FORCE_INLINE void lowbit_max_into(int32_t* restrict dst, const int32_t* restrict src,
                                         int count) {
  int j;
  LOWBIT_KEEP_LOOP
  for (j = 0; j < count; ++j) dst[j] = src[j] > dst[j] ? src[j] : dst[j];
}

/* Element-wise maximum of one row into the row of maxima, in blocks of 16, 8, then 1. */
static void lowbit_max_rows(int32_t* restrict dst, const int32_t* restrict src, size_t width) {
  size_t x = 0;
  for (; x + 16 <= width; x += 16) lowbit_max_into(dst + x, src + x, 16);
  for (; x + 8 <= width; x += 8) lowbit_max_into(dst + x, src + x, 8);
  for (; x < width; ++x) lowbit_max_into(dst + x, src + x, 1);
}

void lowbit_internal_max_pool_sums(const lowbit_pool_params_t* pool, size_t out_h, size_t out_w,
                                   int32_t* sums, const lowbit_channel_requant_t* rq, int8_t* out) {
  const lowbit_channel_requant_t r = *rq;
  const size_t width = pool->in_width;
  int32_t* maxima = sums + pool->in_height * width;
  size_t py;
  for (py = 0; py < out_h; ++py) {
    size_t y0;
    size_t y1;
    size_t iy;
    size_t px;
    /* Rows of the window first (element-wise, vectorized), then columns per output. */
    lowbit_internal_window_range(py, pool->stride_h, pool->pad_top, pool->kernel_h, pool->in_height,
                                 &y0, &y1);
    for (px = 0; px < width; ++px) maxima[px] = sums[y0 * width + px];
    for (iy = y0 + 1; iy < y1; ++iy) lowbit_max_rows(maxima, sums + iy * width, width);
    for (px = 0; px < out_w; ++px) {
      size_t x0;
      size_t x1;
      size_t ix;
      int32_t best;
      lowbit_internal_window_range(px, pool->stride_w, pool->pad_left, pool->kernel_w, width, &x0,
                                   &x1);
      best = maxima[x0];
      for (ix = x0 + 1; ix < x1; ++ix) best = maxima[ix] > best ? maxima[ix] : best;
      out[py * out_w + px] = lowbit_channel_requantize(&r, best);
    }
  }
}

size_t lowbit_conv2d_max_pool_scratch_size(const lowbit_conv2d_params_t* conv,
                                           const lowbit_pool_params_t* pool) {
  size_t conv_bytes;
  size_t pool_bytes;
  size_t h;
  size_t w;
  if (conv == NULL || pool == NULL || lowbit_pool_output_shape(pool, &h, &w) != LOWBIT_OK) {
    return 0;
  }
  conv_bytes = lowbit_conv2d_scratch_size(conv);
  pool_bytes = lowbit_internal_pool_sums_bytes(pool);
  if (conv_bytes == 0 || pool_bytes == 0 || conv_bytes > SIZE_MAX - pool_bytes) return 0;
  return conv_bytes + pool_bytes;
}

lowbit_status_t lowbit_conv2d_max_pool_s8(const lowbit_conv2d_params_t* conv,
                                          const lowbit_pool_params_t* pool, const int8_t* input,
                                          const uint8_t* weights, size_t weights_size,
                                          const int32_t* bias, int8_t* output, void* scratch,
                                          size_t scratch_size) {
  if (conv == NULL || pool == NULL) return LOWBIT_ERR_ARG;
  return lowbit_internal_conv2d(conv, pool, input, weights, weights_size, bias, output, scratch,
                                scratch_size);
}
