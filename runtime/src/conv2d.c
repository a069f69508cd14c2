/* Grouped 2-D convolution in CHW layout; groups == in_channels gives depthwise.
 *
 * Layout of the work, chosen so that compilers vectorize it at -O2: the input channels of one
 * group are copied once into scratch as int16 "planes" holding x - zero_point, with the padding
 * written out as 0 and, for a horizontal stride s > 1, the columns split into s phases (phase q
 * holds padded columns q, q + s, ...). Each output channel's kernel becomes a list of its nonzero
 * taps (weight, plane offset), so every tap reads a contiguous run of a plane row for a run of
 * consecutive outputs. Output rows are computed in pairs, in blocks of 16 (then 8, then one)
 * outputs, tap by tap: a multiply-add of constant length. Products w * (x - zp) fit int16
 * (|w| <= 128, |x - zp| <= 255) and are summed in int16 over as many taps as cannot overflow,
 * then in int32 (exact; see LOWBIT_CONV_MAX_TAPS). conv2d_max_pool.c reuses the same driver. */
#include "conv2d_internal.h"

/* Largest kernel row (in_channels / groups * kernel_h * kernel_w) with exact int32 sums:
 * 65793 * 255 * 128 < 2^31. */
#define LOWBIT_CONV_MAX_TAPS 65793u

/* Geometry of the prepared planes. */
typedef struct {
  size_t phase_width; /* Columns of one phase: ceil(padded width / stride_w). */
  size_t row_stride;  /* int16 per padded row: stride_w * phase_width. */
  size_t plane_size;  /* int16 per plane: padded height * row_stride. */
} lowbit_conv_planes_t;

static lowbit_conv_planes_t lowbit_conv_planes(const lowbit_conv2d_params_t* p) {
  lowbit_conv_planes_t g;
  const size_t padded_w = p->in_width + p->pad_left + p->pad_right;
  g.phase_width = padded_w / p->stride_w + (padded_w % p->stride_w != 0 ? 1 : 0);
  g.row_stride = lowbit_mul_size(p->stride_w, g.phase_width);
  g.plane_size = lowbit_mul_size(p->in_height + p->pad_top + p->pad_bottom, g.row_stride);
  return g;
}

/* One nonzero kernel tap: its weight and where its input is, relative to an output's position in
 * the planes. The list is built once per output channel, so the inner loops see no kernel
 * geometry, phases or pruned weights. */
typedef struct {
  uint32_t offset;
  int16_t weight;
} lowbit_conv_tap_t;

/* Validates everything that does not depend on the buffers; writes the output size. */
static lowbit_status_t lowbit_conv2d_check(const lowbit_conv2d_params_t* p, size_t* out_h,
                                           size_t* out_w) {
  lowbit_status_t status;
  if (p == NULL || out_h == NULL || out_w == NULL) return LOWBIT_ERR_ARG;
  if (p->in_channels == 0 || p->out_channels == 0 || p->groups == 0) return LOWBIT_ERR_ARG;
  if (p->in_channels % p->groups != 0 || p->out_channels % p->groups != 0) return LOWBIT_ERR_ARG;
  status = lowbit_internal_window_shape(p->in_height, p->kernel_h, p->stride_h, p->pad_top,
                                        p->pad_bottom, out_h);
  if (status != LOWBIT_OK) return status;
  return lowbit_internal_window_shape(p->in_width, p->kernel_w, p->stride_w, p->pad_left,
                                      p->pad_right, out_w);
}

lowbit_status_t lowbit_conv2d_output_shape(const lowbit_conv2d_params_t* params, size_t* out_height,
                                           size_t* out_width) {
  size_t h;
  size_t w;
  const lowbit_status_t status = lowbit_conv2d_check(params, &h, &w);
  if (status != LOWBIT_OK) return status;
  if (out_height == NULL || out_width == NULL) return LOWBIT_ERR_ARG;
  *out_height = h;
  *out_width = w;
  return LOWBIT_OK;
}

/* Kernel taps of one output channel: in_channels / groups * kernel_h * kernel_w (0 on overflow). */
static size_t lowbit_conv_taps(const lowbit_conv2d_params_t* p) {
  return lowbit_mul_size(lowbit_mul_size(p->in_channels / p->groups, p->kernel_h), p->kernel_w);
}

/* Bytes of the planes of one group (0 on overflow). */
static size_t lowbit_conv_plane_bytes(const lowbit_conv2d_params_t* p) {
  const lowbit_conv_planes_t g = lowbit_conv_planes(p);
  return lowbit_mul_size(lowbit_mul_size(g.plane_size, p->in_channels / p->groups),
                         sizeof(int16_t));
}

size_t lowbit_conv2d_scratch_size(const lowbit_conv2d_params_t* params) {
  size_t h;
  size_t w;
  size_t planes;
  size_t taps;
  if (lowbit_conv2d_check(params, &h, &w) != LOWBIT_OK) return 0;
  planes = lowbit_conv_plane_bytes(params);
  taps = lowbit_conv_taps(params);
  if (planes == 0 || taps == 0 || taps > SIZE_MAX / sizeof(lowbit_conv_tap_t)) return 0;
  taps *= sizeof(lowbit_conv_tap_t);
  if (planes > SIZE_MAX - taps - LOWBIT_SCRATCH_SLACK) return 0;
  return planes + taps + LOWBIT_SCRATCH_SLACK;
}

/* dst[j] = src[j] - zp for j < count (a constant after inlining, so the loop vectorizes). */
LOWBIT_FORCE_INLINE void lowbit_conv_widen(int16_t* restrict dst, const int8_t* restrict src,
                                           int32_t zp, int count) {
  int j;
  LOWBIT_KEEP_LOOP
  for (j = 0; j < count; ++j) dst[j] = (int16_t)((int32_t)src[j] - zp);
}

/* Writes input channel `plane_in` minus the zero point into `plane`, padding 0, columns split
 * into stride_w phases. */
static void lowbit_conv_prepare(const lowbit_conv2d_params_t* p, const lowbit_conv_planes_t* g,
                                const int8_t* plane_in, int16_t* plane) {
  const size_t padded_h = p->in_height + p->pad_top + p->pad_bottom;
  const int32_t zp = p->input_zero_point;
  size_t r;
  size_t c;
  for (r = 0; r < g->plane_size; ++r) plane[r] = 0;
  for (r = 0; r < padded_h; ++r) {
    int16_t* row = plane + r * g->row_stride;
    const int8_t* src;
    if (r < p->pad_top || r - p->pad_top >= p->in_height) continue;
    src = plane_in + (r - p->pad_top) * p->in_width;
    if (p->stride_w == 1) {
      for (c = 0; c + 16 <= p->in_width; c += 16) {
        lowbit_conv_widen(row + p->pad_left + c, src + c, zp, 16);
      }
      for (; c + 8 <= p->in_width; c += 8) lowbit_conv_widen(row + p->pad_left + c, src + c, zp, 8);
      for (; c < p->in_width; ++c) row[p->pad_left + c] = (int16_t)((int32_t)src[c] - zp);
    } else {
      for (c = p->pad_left; c < p->pad_left + p->in_width; ++c) {
        row[(c % p->stride_w) * g->phase_width + c / p->stride_w] =
            (int16_t)((int32_t)src[c - p->pad_left] - zp);
      }
    }
  }
}

/* part[j] += w * src[j] for j < count (a constant after inlining, so the loop vectorizes). The
 * caller bounds how many taps a part sums (`per_part`), so it never leaves int16: 8 lanes per
 * multiply and add. */
LOWBIT_FORCE_INLINE void lowbit_conv_tap(int16_t* part, const int16_t* src, int16_t w, int count) {
  int j;
  LOWBIT_KEEP_LOOP
  for (j = 0; j < count; ++j) part[j] = (int16_t)(part[j] + w * src[j]);
}

/* acc[j] += part[j]; part[j] = 0. */
LOWBIT_FORCE_INLINE void lowbit_conv_flush(int32_t* acc, int16_t* part, int count) {
  int j;
  LOWBIT_KEEP_LOOP
  for (j = 0; j < count; ++j) {
    acc[j] += part[j];
    part[j] = 0;
  }
}

/* Sums the taps for `count` consecutive outputs of `rows` (1 or 2) output rows: row r starts at
 * at + r * at_step in the planes (the element under its first output's first tap) and its sums
 * go to acc + r * acc_step. Products are summed in int16 parts of up to `per_part` taps
 * (|w| * 255 * per_part <= 32767, see lowbit_conv_per_part), then added to the int32 sums. Two
 * rows share each tap's weight and bookkeeping; count and rows are constants after inlining, so
 * the parts stay in registers. */
LOWBIT_FORCE_INLINE void lowbit_conv_run(const lowbit_conv_tap_t* taps, size_t count_taps,
                                         size_t per_part, const int16_t* at, size_t at_step,
                                         int32_t* acc, size_t acc_step, int count, int rows) {
  /* Two named arrays rather than one [2][16]: compilers keep them in registers. */
  int16_t part0[16];
  int16_t part1[16];
  size_t pending = 0;
  size_t t;
  int j;
  for (j = 0; j < count; ++j) {
    acc[j] = 0;
    part0[j] = 0;
    if (rows == 2) {
      acc[acc_step + (size_t)j] = 0;
      part1[j] = 0;
    }
  }
  for (t = 0; t < count_taps; ++t) {
    const int16_t* src = at + taps[t].offset;
    lowbit_conv_tap(part0, src, taps[t].weight, count);
    if (rows == 2) lowbit_conv_tap(part1, src + at_step, taps[t].weight, count);
    if (++pending == per_part) {
      lowbit_conv_flush(acc, part0, count);
      if (rows == 2) lowbit_conv_flush(acc + acc_step, part1, count);
      pending = 0;
    }
  }
  if (pending != 0) {
    lowbit_conv_flush(acc, part0, count);
    if (rows == 2) lowbit_conv_flush(acc + acc_step, part1, count);
  }
}

/* Where one output channel's rows go: int32 sums to pool (sums != NULL) or int8 outputs. */
typedef struct {
  int32_t* sums;
  int8_t* out;
  const lowbit_channel_requant_t* rq;
} lowbit_conv_sink_t;

/* Output rows oy .. oy + rows - 1 of one channel, in blocks of 16, 8, then 1 outputs. */
LOWBIT_FORCE_INLINE void lowbit_conv_rows(const lowbit_conv_tap_t* taps, size_t count_taps,
                                          size_t per_part, const int16_t* at, size_t at_step,
                                          size_t out_w, const lowbit_conv_sink_t* sink, size_t oy,
                                          int rows) {
  int32_t block[2 * 16];
  int32_t* const sums = sink->sums != NULL ? sink->sums + oy * out_w : NULL;
  int8_t* const out = sink->sums == NULL ? sink->out + oy * out_w : NULL;
  const size_t acc_step = sums != NULL ? out_w : 16;
  size_t ox = 0;
  int r;
  for (; ox + 16 <= out_w; ox += 16) {
    int32_t* acc = sums != NULL ? sums + ox : block;
    lowbit_conv_run(taps, count_taps, per_part, at + ox, at_step, acc, acc_step, 16, rows);
    for (r = 0; sums == NULL && r < rows; ++r) {
      lowbit_requantize_sums(sink->rq, acc + r * acc_step, out + r * out_w + ox, 16);
    }
  }
  for (; ox + 8 <= out_w; ox += 8) {
    int32_t* acc = sums != NULL ? sums + ox : block;
    lowbit_conv_run(taps, count_taps, per_part, at + ox, at_step, acc, acc_step, 8, rows);
    for (r = 0; sums == NULL && r < rows; ++r) {
      lowbit_requantize_sums(sink->rq, acc + r * acc_step, out + r * out_w + ox, 8);
    }
  }
  for (; ox < out_w; ++ox) {
    int32_t* acc = sums != NULL ? sums + ox : block;
    lowbit_conv_run(taps, count_taps, per_part, at + ox, at_step, acc, acc_step, 1, rows);
    for (r = 0; sums == NULL && r < rows; ++r) {
      lowbit_requantize_sums(sink->rq, acc + r * acc_step, out + r * out_w + ox, 1);
    }
  }
}

/* All output rows of one channel: in pairs (each tap's weight and bookkeeping serve both), then
 * the odd one. */
LOWBIT_FORCE_INLINE void lowbit_conv_channel_body(const lowbit_conv_tap_t* taps, size_t count_taps,
                                                  size_t per_part, const int16_t* planes,
                                                  size_t row_step, size_t out_h, size_t out_w,
                                                  const lowbit_conv_sink_t* sink) {
  size_t oy;
  for (oy = 0; oy + 2 <= out_h; oy += 2) {
    lowbit_conv_rows(taps, count_taps, per_part, planes + oy * row_step, row_step, out_w, sink, oy,
                     2);
  }
  if (oy < out_h) {
    lowbit_conv_rows(taps, count_taps, per_part, planes + oy * row_step, row_step, out_w, sink, oy,
                     1);
  }
}

/* The rows of one channel, compiled for the baseline target. */
static void lowbit_conv_channel(const lowbit_conv_tap_t* taps, size_t count_taps, size_t per_part,
                                const int16_t* planes, size_t row_step, size_t out_h, size_t out_w,
                                const lowbit_conv_sink_t* sink) {
  lowbit_conv_channel_body(taps, count_taps, per_part, planes, row_step, out_h, out_w, sink);
}

#if LOWBIT_AVX2
/* The same rows compiled for AVX2: the constant-length tap loops vectorize 16 int16 wide. */
LOWBIT_TARGET_AVX2 static void lowbit_conv_channel_avx2(const lowbit_conv_tap_t* taps,
                                                        size_t count_taps, size_t per_part,
                                                        const int16_t* planes, size_t row_step,
                                                        size_t out_h, size_t out_w,
                                                        const lowbit_conv_sink_t* sink) {
  lowbit_conv_channel_body(taps, count_taps, per_part, planes, row_step, out_h, out_w, sink);
}
#endif

/* Lists the nonzero taps of output channel o (pruned weights cost nothing); returns how many. */
static size_t lowbit_conv_list_taps(const lowbit_conv2d_params_t* p, const lowbit_conv_planes_t* g,
                                    const lowbit_format_traits_t* traits, const uint8_t* row,
                                    lowbit_conv_tap_t* taps) {
  const size_t group_in = p->in_channels / p->groups;
  size_t count = 0;
  size_t t = 0;
  size_t ci;
  for (ci = 0; ci < group_in; ++ci) {
    size_t ky;
    for (ky = 0; ky < p->kernel_h; ++ky) {
      /* Column kx is in phase kx % stride_w at kx / stride_w, stepped without dividing. */
      size_t phase = 0;
      size_t shift = 0;
      size_t kx;
      for (kx = 0; kx < p->kernel_w; ++kx, ++t) {
        const int32_t w = lowbit_decode_field(traits, lowbit_field_at(row, t, traits->bits));
        if (w != 0) {
          taps[count].offset =
              (uint32_t)(ci * g->plane_size + ky * g->row_stride + phase * g->phase_width + shift);
          taps[count].weight = (int16_t)w;
          ++count;
        }
        if (++phase == p->stride_w) {
          phase = 0;
          ++shift;
        }
      }
    }
  }
  return count;
}

/* The largest |code| of a format. */
static int32_t lowbit_conv_widest(const lowbit_format_traits_t* traits) {
  return -(int32_t)traits->code_min > (int32_t)traits->code_max ? -(int32_t)traits->code_min
                                                                : (int32_t)traits->code_max;
}

/* Taps one int16 part may sum for a format whose largest |code| is widest: |code| * 255 per
 * product, 32767 in all (1 for int8, 8 for sym4, 16 for int4, 42 for sym2, 64 for int2, 128 for
 * binary). */
static size_t lowbit_conv_per_part(int32_t widest) {
  return (size_t)(INT16_MAX / (255 * widest));
}

lowbit_status_t lowbit_internal_conv2d(const lowbit_conv2d_params_t* params,
                                       const lowbit_pool_params_t* pool, const int8_t* input,
                                       const uint8_t* weights, size_t weights_size,
                                       const int32_t* bias, int8_t* output, void* scratch,
                                       size_t scratch_size) {
  const lowbit_format_traits_t* traits;
  lowbit_conv_planes_t g;
  lowbit_status_t status;
  lowbit_conv_tap_t* taps;
  int32_t* sums = NULL;
  int16_t* planes;
  size_t out_h;
  size_t out_w;
  size_t pooled_h = 0;
  size_t pooled_w = 0;
  size_t row_length;
  size_t row_bytes;
  size_t group_in;
  size_t group_out;
  size_t group;
  size_t per_part;
  int32_t widest;
  size_t row_step;
  size_t own_bytes;
  size_t pool_bytes;
#if LOWBIT_AVX2
  int avx2;
#endif
  status = lowbit_conv2d_check(params, &out_h, &out_w);
  if (status != LOWBIT_OK) return status;
  if (input == NULL || weights == NULL || output == NULL || scratch == NULL) return LOWBIT_ERR_ARG;
  traits = lowbit_format_traits(params->weight_format);
  if (traits == NULL) return LOWBIT_ERR_FORMAT;
  if (!lowbit_zero_point_ok(params->input_zero_point)) return LOWBIT_ERR_RANGE;
  status = lowbit_requant_check(&params->requant, params->out_channels);
  if (status != LOWBIT_OK) return status;
  if (pool != NULL) {
    status = lowbit_pool_output_shape(pool, &pooled_h, &pooled_w);
    if (status != LOWBIT_OK) return status;
    if (pool->channels != params->out_channels || pool->in_height != out_h ||
        pool->in_width != out_w) {
      return LOWBIT_ERR_ARG;
    }
  }
  row_length = lowbit_conv_taps(params);
  if (row_length == 0 || row_length > LOWBIT_CONV_MAX_TAPS) return LOWBIT_ERR_RANGE;
  g = lowbit_conv_planes(params);
  /* Tap offsets are uint32: one group's planes must have fewer than 2^32 values. */
  if (lowbit_conv_plane_bytes(params) / sizeof(int16_t) > UINT32_MAX) return LOWBIT_ERR_RANGE;
  own_bytes = lowbit_conv2d_scratch_size(params);
  pool_bytes = pool != NULL ? lowbit_internal_pool_sums_bytes(pool) : 0;
  if (own_bytes == 0 || (pool != NULL && pool_bytes == 0)) return LOWBIT_ERR_ARG; /* overflow */
  if (scratch_size < own_bytes || scratch_size - own_bytes < pool_bytes) return LOWBIT_ERR_BUFFER;
  if (weights_size == 0 ||
      weights_size != lowbit_packed_size(params->weight_format, params->out_channels, row_length)) {
    return LOWBIT_ERR_BUFFER;
  }
  /* Layout, widest alignment first: the tap list, the int32 sums of one output channel (pooling
   * only), the planes. */
  taps = (lowbit_conv_tap_t*)lowbit_align_scratch(scratch, scratch_size,
                                                  own_bytes - LOWBIT_SCRATCH_SLACK + pool_bytes);
  if (taps == NULL) return LOWBIT_ERR_BUFFER;
  if (pool != NULL) sums = (int32_t*)(taps + row_length);
  planes = pool != NULL ? (int16_t*)(sums + pool_bytes / sizeof(int32_t))
                        : (int16_t*)(taps + row_length);
  row_bytes = weights_size / params->out_channels;
  group_in = params->in_channels / params->groups;
  group_out = params->out_channels / params->groups;
  widest = lowbit_conv_widest(traits);
  per_part = lowbit_conv_per_part(widest);
  row_step = params->stride_h * g.row_stride;
#if LOWBIT_AVX2
  avx2 = lowbit_internal_has_avx2();
#endif
  for (group = 0; group < params->groups; ++group) {
    size_t ci;
    size_t k;
    for (ci = 0; ci < group_in; ++ci) {
      lowbit_conv_prepare(params, &g,
                          input + (group * group_in + ci) * params->in_height * params->in_width,
                          planes + ci * g.plane_size);
    }
    for (k = 0; k < group_out; ++k) {
      const size_t o = group * group_out + k;
      const size_t c = params->requant.count == 1 ? 0 : o;
      const size_t count_taps =
          lowbit_conv_list_taps(params, &g, traits, weights + o * row_bytes, taps);
      const lowbit_channel_requant_t rq = lowbit_channel_requant(
          &params->requant, c, bias != NULL ? bias[o] : 0, (int64_t)count_taps * 255 * widest);
      lowbit_conv_sink_t sink;
      sink.sums = sums;
      sink.out = output + o * out_h * out_w;
      sink.rq = &rq;
#if LOWBIT_AVX2
      if (avx2) {
        lowbit_conv_channel_avx2(taps, count_taps, per_part, planes, row_step, out_h, out_w, &sink);
      } else
#endif
      {
        lowbit_conv_channel(taps, count_taps, per_part, planes, row_step, out_h, out_w, &sink);
      }
      if (pool != NULL) {
        lowbit_internal_max_pool_sums(pool, pooled_h, pooled_w, sums, &rq,
                                      output + o * pooled_h * pooled_w);
      }
    }
  }
  return LOWBIT_OK;
}

lowbit_status_t lowbit_conv2d_s8(const lowbit_conv2d_params_t* params, const int8_t* input,
                                 const uint8_t* weights, size_t weights_size, const int32_t* bias,
                                 int8_t* output, void* scratch, size_t scratch_size) {
  return lowbit_internal_conv2d(params, NULL, input, weights, weights_size, bias, output, scratch,
                                scratch_size);
}
