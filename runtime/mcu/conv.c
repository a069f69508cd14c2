/* lowbit_mcu_conv: a 2-D convolution as one fully connected layer per output position.
 *
 * The portable runtime's convolution (runtime/src/conv2d.c) is laid out for vector units: int16
 * planes of the whole input and a list of taps, about 10 instructions a multiply-add on RV32IM
 * and several times that without a multiplier. On a microcontroller the column kernels do
 * better: an output position's patch (in_channels * kernel_h * kernel_w inputs) is the input of
 * a fully connected layer whose outputs are the channels, so the sums kernels' zero skipping,
 * 16-bit lanes and product tables serve convolutions too, and the scratch is one patch and one
 * row of sums instead of the input planes.
 *
 * lowbit_mcu_conv_depthwise: a depthwise convolution has one input channel per output, so it has
 * no patch to share; it adds each tap into the channel's int32 output plane a row at a time. */
#include "lowbit_mcu.h"

/* base * d for d >= 0 and |base| <= 255, by shifts and adds: no libgcc multiply call on cores
 * without a multiplier (once per output position of a full conv, per tap of a depthwise one). */
static int32_t lowbit_mcu_conv_scale(int32_t base, int32_t d) {
  uint32_t magnitude = base < 0 ? (uint32_t)(-base) : (uint32_t)base;
  uint32_t product = 0;
  uint32_t term = (uint32_t)d;
  while (magnitude != 0u) {
    if ((magnitude & 1u) != 0u) product += term;
    magnitude >>= 1;
    term <<= 1;
  }
  return base < 0 ? -(int32_t)product : (int32_t)product;
}

/* The conv outputs under pooled output (py, px): rows [y0, y1) and columns [x0, x1) of the pool
 * window clipped to the conv output (without a pool: the one output (py, px)). */
typedef struct {
  uint32_t y0, y1, x0, x1;
} lowbit_mcu_window_t;

static lowbit_mcu_window_t lowbit_mcu_conv_window(const lowbit_mcu_conv_t* l, uint32_t py,
                                                  uint32_t px) {
  const int32_t top = (int32_t)(py * l->pool_stride_h) - (int32_t)l->pool_pad_top;
  const int32_t left = (int32_t)(px * l->pool_stride_w) - (int32_t)l->pool_pad_left;
  const int32_t bottom = top + (int32_t)l->pool_h;
  const int32_t right = left + (int32_t)l->pool_w;
  lowbit_mcu_window_t w;
  w.y0 = top < 0 ? 0u : (uint32_t)top;
  w.x0 = left < 0 ? 0u : (uint32_t)left;
  w.y1 = bottom > (int32_t)l->out_height ? l->out_height : (uint32_t)bottom;
  w.x1 = right > (int32_t)l->out_width ? l->out_width : (uint32_t)right;
  return w;
}

/* The patch of conv output (cy, cx) in weight-row order; padding holds in_zp. `plane` (input
 * height * width) and `taps` (kernel_h * kernel_w) come from the caller, once per layer; row
 * offsets are formed once per position, so the copy loops only add. */
static void lowbit_mcu_conv_patch(const lowbit_mcu_conv_t* l, const int8_t* x, uint32_t cy,
                                  uint32_t cx, uint32_t plane, uint32_t taps, int8_t* patch) {
  const uint32_t kh = l->kernel_h;
  const uint32_t kw = l->kernel_w;
  const int32_t y0 = (int32_t)(cy * l->stride_h) - (int32_t)l->pad_top;
  const int32_t x0 = (int32_t)(cx * l->stride_w) - (int32_t)l->pad_left;
  const int interior = x0 >= 0 && x0 + (int32_t)kw <= (int32_t)l->in_width;
  const int8_t pad = (int8_t)l->in_zp;
  int32_t row = y0 * (int32_t)l->in_width;
  uint32_t ky;
  for (ky = 0; ky < kh; ++ky, row += l->in_width) {
    const int32_t iy = y0 + (int32_t)ky;
    const int inside = iy >= 0 && iy < (int32_t)l->in_height;
    const int8_t* src = x + (inside ? row : 0);
    int8_t* dst = patch + ky * kw;
    uint32_t c;
    for (c = 0; c < l->in_channels; ++c, src += plane, dst += taps) {
      uint32_t kx;
      if (!inside) {
        for (kx = 0; kx < kw; ++kx) dst[kx] = pad;
      } else if (interior && kw == 3u) { /* the usual 3x3 kernel: no loop */
        const int8_t* const at = src + x0;
        dst[0] = at[0];
        dst[1] = at[1];
        dst[2] = at[2];
      } else if (interior) {
        for (kx = 0; kx < kw; ++kx) dst[kx] = src[(uint32_t)x0 + kx];
      } else {
        for (kx = 0; kx < kw; ++kx) {
          const int32_t ix = x0 + (int32_t)kx;
          dst[kx] = ix >= 0 && ix < (int32_t)l->in_width ? src[ix] : pad;
        }
      }
    }
  }
}

/* best[j] = a_j (first position of a window) or max(best[j], a_j), a_j = base_d + 2^step * S_j.
 * A function of its own so that its few values stay in registers. */
static void lowbit_mcu_conv_window_max(int32_t* best, const int32_t* sums, uint32_t n,
                                       int32_t base_d, uint32_t step, int first) {
  const int32_t* const end = sums + n;
  if (first) {
    for (; sums != end; ++sums, ++best) *best = base_d + (int32_t)((uint32_t)*sums << step);
    return;
  }
  for (; sums != end; ++sums, ++best) {
    const int32_t a = base_d + (int32_t)((uint32_t)*sums << step);
    if (a > *best) *best = a;
  }
}

void lowbit_mcu_conv(const lowbit_mcu_conv_t* l, const int8_t* x, int8_t* y, void* scratch) {
  const uint32_t n_out = l->out_channels;
  const uint32_t taps = (uint32_t)l->kernel_h * l->kernel_w;
  const uint32_t n_in = l->in_channels * taps;
  const uint32_t plane = (uint32_t)l->in_height * l->in_width;
  const uint32_t stored = (uint32_t)l->pooled_height * l->pooled_width;
  int32_t* const sums = (int32_t*)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);
  uint32_t* const work = (uint32_t*)(sums + LOWBIT_MCU_FC_SUMS_WORDS(n_out, l->bits));
  int32_t* const best = (int32_t*)(work + LOWBIT_MCU_FC_WORK_WORDS(n_out, l->bits));
  int8_t* const out = (int8_t*)(best + n_out);
  int8_t* const patch = out + n_out;
  uint32_t py, px, j;
  int8_t* at = y;
  for (py = 0; py < l->pooled_height; ++py) {
    for (px = 0; px < l->pooled_width; ++px, ++at) {
      const lowbit_mcu_window_t w = lowbit_mcu_conv_window(l, py, px);
      int first = 1;
      uint32_t cy, cx;
      for (cy = w.y0; cy < w.y1; ++cy) {
        for (cx = w.x0; cx < w.x1; ++cx) {
          int32_t base_d;
          lowbit_mcu_conv_patch(l, x, cy, cx, plane, taps, patch);
          base_d = lowbit_mcu_conv_scale(
              l->base, l->sums(patch, n_in, l->skip, l->columns, n_out, sums, work));
          lowbit_mcu_conv_window_max(best, sums, n_out, base_d, l->step_shift, first);
          first = 0;
        }
      }
      lowbit_mcu_requant(best, n_out, l->constants, 0, 0u, l->m, l->r, l->per_channel, l->zp, l->lo,
                         l->hi, out);
      {
        int8_t* dst = at; /* stepped rather than indexed: no multiply per output */
        for (j = 0; j < n_out; ++j, dst += stored) *dst = out[j];
      }
    }
  }
}

/* d * w for 0 <= d <= 255 and |w| <= 255: one multiply where the core has one, else shifts and
 * adds (no libgcc call per multiply-add). */
static int32_t lowbit_mcu_conv_product(int32_t w, int32_t d) {
#if LOWBIT_MCU_TABLE_KERNELS
  return lowbit_mcu_conv_scale(w, d);
#else
  return w * d;
#endif
}

/* acc[ox] += w * (src[(ox - lo) * stride] - skip) for ox in [lo, hi), and += pad_term (w times
 * the padding's in_zp - skip) for the other ox of the row, whose input column is padding. The
 * loop of a depthwise conv: one tap of one channel over a whole row of outputs. */
static void lowbit_mcu_conv_dw_row(int32_t* acc, uint32_t count, uint32_t lo, uint32_t hi,
                                   const int8_t* src, uint32_t stride, int32_t skip, int32_t w,
                                   int32_t pad_term) {
  uint32_t ox;
  if (pad_term != 0) {
    for (ox = 0; ox < lo; ++ox) acc[ox] += pad_term;
    for (ox = hi; ox < count; ++ox) acc[ox] += pad_term;
  }
  for (ox = lo; ox < hi; ++ox, src += stride) {
    const int32_t d = (int32_t)*src - skip;
    if (d != 0) acc[ox] += lowbit_mcu_conv_product(w, d);
  }
}

void lowbit_mcu_conv_depthwise(const lowbit_mcu_conv_t* l, const int8_t* x, int8_t* y,
                               void* scratch) {
  const uint32_t kh = l->kernel_h;
  const uint32_t kw = l->kernel_w;
  const uint32_t oh = l->out_height;
  const uint32_t ow = l->out_width;
  const uint32_t width = l->in_width;
  const uint32_t row_bytes = ((uint32_t)l->out_channels * l->bits + 7u) / 8u;
  const uint32_t mask = (1u << l->bits) - 1u;
  const uint32_t plane_size = (uint32_t)l->in_height * width;
  const int32_t row_step = (int32_t)(l->stride_h * width);
  const int32_t pad_d = (int32_t)l->in_zp - l->skip;
  int32_t* const acc = (int32_t*)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);
  int16_t* const w = (int16_t*)(acc + oh * ow);
  const int8_t* plane = x;
  int8_t* at = y;
  uint32_t o, t, i, ky, kx, py, px;
  for (o = 0; o < l->out_channels; ++o, plane += plane_size) {
    const uint32_t bit = o * l->bits;
    const uint32_t k = l->per_channel ? o : 0u;
    /* The channel's fields, one per tap, as signed weights base + 2^step * f. */
    for (t = 0; t < kh * kw; ++t) {
      const uint32_t f = ((uint32_t)l->columns[t * row_bytes + bit / 8u] >> (bit % 8u)) & mask;
      w[t] = (int16_t)(l->base + (int32_t)(f << l->step_shift));
    }
    for (i = 0; i < oh * ow; ++i) acc[i] = 0;
    /* Tap by tap over the whole output plane: sum_t (v_t - skip) w_t, v_t = in_zp outside. */
    for (ky = 0, t = 0; ky < kh; ++ky) {
      for (kx = 0; kx < kw; ++kx, ++t) {
        const int32_t wt = w[t];
        const int32_t pad_term = pad_d != 0 ? lowbit_mcu_conv_product(wt, pad_d) : 0;
        /* Output columns whose input column ox * stride + kx - pad_left is inside: [lo, hi). */
        uint32_t lo = 0, hi = ow;
        int32_t iy = (int32_t)ky - (int32_t)l->pad_top;
        int32_t row = iy * (int32_t)width;
        int32_t* acc_row = acc;
        uint32_t oy;
        if (wt == 0) continue;
        while (lo < ow && (int32_t)(lo * l->stride_w + kx) < (int32_t)l->pad_left) ++lo;
        while (hi > lo && (hi - 1u) * l->stride_w + kx >= width + l->pad_left) --hi;
        for (oy = 0; oy < oh; ++oy, iy += l->stride_h, row += row_step, acc_row += ow) {
          if (iy < 0 || iy >= (int32_t)l->in_height || lo == hi) {
            lowbit_mcu_conv_dw_row(acc_row, ow, ow, ow, plane, 0u, 0, 0, pad_term);
          } else {
            lowbit_mcu_conv_dw_row(acc_row, ow, lo, hi,
                                   plane + row + (int32_t)(lo * l->stride_w + kx) - l->pad_left,
                                   l->stride_w, l->skip, wt, pad_term);
          }
        }
      }
    }
    /* The window maxima, requantized with the channel's constant. */
    for (py = 0; py < l->pooled_height; ++py) {
      for (px = 0; px < l->pooled_width; ++px, ++at) {
        const lowbit_mcu_window_t win = lowbit_mcu_conv_window(l, py, px);
        int32_t best = acc[win.y0 * ow + win.x0];
        uint32_t cy, cx;
        for (cy = win.y0; cy < win.y1; ++cy) {
          for (cx = win.x0; cx < win.x1; ++cx) {
            const int32_t a = acc[cy * ow + cx];
            if (a > best) best = a;
          }
        }
        lowbit_mcu_requant(&best, 1u, &l->constants[o], 0, 0u, &l->m[k], &l->r[k], 0u, l->zp, l->lo,
                           l->hi, at);
      }
    }
  }
}
