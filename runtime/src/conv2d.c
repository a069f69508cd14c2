/* Grouped 2-D convolution in CHW layout; groups == in_channels gives depthwise.
 *
 * Layout of the work, chosen so that compilers vectorize it at -O2: the input channels of one
 * group are copied once into scratch as int16 "planes" holding x - zero_point, with the padding
 * written out as 0 and, for a horizontal stride s > 1, the columns split into s phases (phase q
 * holds padded columns q, q + s, ...). Then every kernel tap reads a contiguous run of a plane row
 * for a run of consecutive outputs, and the output row is computed in blocks of 16 (then 8, then
 * one) outputs, summing tap by tap: a multiply-add of constant length. Products w * (x - zp) fit
 * int16 (|w| <= 128, |x - zp| <= 255), sums of one output are int32 (see LOWBIT_CONV_MAX_TAPS). */
#include "lowbit_internal.h"

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
  if (planes == 0 || taps == 0 || taps > SIZE_MAX / sizeof(int16_t)) return 0;
  taps *= sizeof(int16_t);
  if (planes > SIZE_MAX - taps - LOWBIT_SCRATCH_SLACK) return 0;
  return planes + taps + LOWBIT_SCRATCH_SLACK;
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
      for (c = 0; c < p->in_width; ++c) row[p->pad_left + c] = (int16_t)((int32_t)src[c] - zp);
    } else {
      for (c = p->pad_left; c < p->pad_left + p->in_width; ++c) {
        row[(c % p->stride_w) * g->phase_width + c / p->stride_w] =
            (int16_t)((int32_t)src[c - p->pad_left] - zp);
      }
    }
  }
}

/* acc[j] += w * src[j] for j < count (a constant after inlining, so the loop vectorizes); the
 * product fits int16, which lets compilers multiply 8 lanes at a time. */
LOWBIT_FORCE_INLINE void lowbit_conv_tap(int32_t* acc, const int16_t* src, int16_t w, int count) {
  int j;
  LOWBIT_KEEP_LOOP
  for (j = 0; j < count; ++j) acc[j] += (int16_t)(w * src[j]);
}

/* Sums all taps for `count` consecutive outputs of one row starting at column ox. */
LOWBIT_FORCE_INLINE void lowbit_conv_run(const lowbit_conv2d_params_t* p,
                                         const lowbit_conv_planes_t* g, const int16_t* planes,
                                         const int16_t* kernel, size_t group_in, size_t oy,
                                         size_t ox, int32_t* acc, int count) {
  size_t ci;
  int j;
  for (j = 0; j < count; ++j) acc[j] = 0;
  for (ci = 0; ci < group_in; ++ci) {
    const int16_t* plane = planes + ci * g->plane_size;
    const int16_t* taps = kernel + ci * p->kernel_h * p->kernel_w;
    size_t ky;
    for (ky = 0; ky < p->kernel_h; ++ky) {
      const int16_t* row = plane + (oy * p->stride_h + ky) * g->row_stride + ox;
      /* Column kx is in phase kx % stride_w at kx / stride_w, stepped without dividing. */
      size_t phase = 0;
      size_t shift = 0;
      size_t kx;
      for (kx = 0; kx < p->kernel_w; ++kx) {
        const int16_t w = taps[ky * p->kernel_w + kx];
        /* Pruned weights cost nothing. */
        if (w != 0) lowbit_conv_tap(acc, row + phase * g->phase_width + shift, w, count);
        if (++phase == p->stride_w) {
          phase = 0;
          ++shift;
        }
      }
    }
  }
}

/* The requantization of one output channel, read into locals once: stores through int8_t may
 * alias anything, so fields read from the params inside the output loop would be reloaded after
 * every store. */
typedef struct {
  int64_t bias;
  int32_t multiplier;
  int32_t shift;
  int32_t zero_point;
  int32_t act_min;
  int32_t act_max;
} lowbit_conv_requant_t;

/* Requantizes `count` sums (the bias added exactly) into out. */
LOWBIT_FORCE_INLINE void lowbit_conv_store(const lowbit_conv_requant_t* rq, const int32_t* acc,
                                           int8_t* out, int count) {
  const lowbit_conv_requant_t r = *rq;
  int j;
  for (j = 0; j < count; ++j) {
    out[j] = lowbit_requantize_inline(lowbit_saturate_i32(r.bias + acc[j]), r.multiplier, r.shift,
                                      r.zero_point, r.act_min, r.act_max);
  }
}

lowbit_status_t lowbit_conv2d_s8(const lowbit_conv2d_params_t* params, const int8_t* input,
                                 const uint8_t* weights, size_t weights_size, const int32_t* bias,
                                 int8_t* output, void* scratch, size_t scratch_size) {
  const lowbit_format_traits_t* traits;
  lowbit_conv_planes_t g;
  lowbit_status_t status;
  int16_t* planes;
  int16_t* kernel;
  size_t out_h;
  size_t out_w;
  size_t taps;
  size_t row_bytes;
  size_t group_in;
  size_t group_out;
  size_t group;
  status = lowbit_conv2d_check(params, &out_h, &out_w);
  if (status != LOWBIT_OK) return status;
  if (input == NULL || weights == NULL || output == NULL || scratch == NULL) return LOWBIT_ERR_ARG;
  traits = lowbit_format_traits(params->weight_format);
  if (traits == NULL) return LOWBIT_ERR_FORMAT;
  if (!lowbit_zero_point_ok(params->input_zero_point)) return LOWBIT_ERR_RANGE;
  status = lowbit_requant_check(&params->requant, params->out_channels);
  if (status != LOWBIT_OK) return status;
  taps = lowbit_conv_taps(params);
  if (taps == 0 || taps > LOWBIT_CONV_MAX_TAPS) return LOWBIT_ERR_RANGE;
  if (scratch_size < lowbit_conv2d_scratch_size(params)) return LOWBIT_ERR_BUFFER;
  if (weights_size == 0 ||
      weights_size != lowbit_packed_size(params->weight_format, params->out_channels, taps)) {
    return LOWBIT_ERR_BUFFER;
  }
  planes = (int16_t*)lowbit_align_scratch(scratch, scratch_size,
                                          lowbit_conv_plane_bytes(params) + taps * sizeof(int16_t));
  if (planes == NULL) return LOWBIT_ERR_BUFFER;
  g = lowbit_conv_planes(params);
  row_bytes = weights_size / params->out_channels;
  group_in = params->in_channels / params->groups;
  group_out = params->out_channels / params->groups;
  kernel = planes + group_in * g.plane_size;
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
      lowbit_conv_requant_t rq;
      size_t oy;
      size_t t;
      rq.bias = bias != NULL ? (int64_t)bias[o] : 0;
      rq.multiplier = params->requant.multiplier[c];
      rq.shift = params->requant.shift[c];
      rq.zero_point = params->requant.output_zero_point;
      rq.act_min = params->requant.act_min;
      rq.act_max = params->requant.act_max;
      for (t = 0; t < taps; ++t) {
        kernel[t] = (int16_t)lowbit_decode_field(
            traits, lowbit_field_at(weights + o * row_bytes, t, traits->bits));
      }
      for (oy = 0; oy < out_h; ++oy) {
        int8_t* out = output + (o * out_h + oy) * out_w;
        int32_t acc[16];
        size_t ox = 0;
        for (; ox + 16 <= out_w; ox += 16) {
          lowbit_conv_run(params, &g, planes, kernel, group_in, oy, ox, acc, 16);
          lowbit_conv_store(&rq, acc, out + ox, 16);
        }
        for (; ox + 8 <= out_w; ox += 8) {
          lowbit_conv_run(params, &g, planes, kernel, group_in, oy, ox, acc, 8);
          lowbit_conv_store(&rq, acc, out + ox, 8);
        }
        for (; ox < out_w; ++ox) {
          lowbit_conv_run(params, &g, planes, kernel, group_in, oy, ox, acc, 1);
          lowbit_conv_store(&rq, acc, out + ox, 1);
        }
      }
    }
  }
  return LOWBIT_OK;
}
