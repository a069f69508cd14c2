/* Integer leaky integrate-and-fire neurons (docs/runtime.md, "Spiking state"): one time step
 * updates a caller-owned int16 or int32 membrane per element and emits 0/1 spikes.
 *
 * Cost on small MCUs: the int16 membrane runs in int32 arithmetic only (one 32-bit multiply
 * for the beta leak, none for the shift leak); the int32 membrane needs int64 only for the beta
 * leak's product. Floor divisions by 2^k never right-shift a negative value (that is
 * implementation-defined in C99): the dividend is offset by 2^31 (2^63) into unsigned range. */
#include "lowbit_internal.h"

/* One channel's parameters and the layer's constants, read into locals once. */
typedef struct {
  int32_t threshold;   /* >= 1 */
  int32_t beta_q15;    /* [0, 32768], used when leak_shift is 0 */
  int32_t leak_shift;  /* 0..15 */
  int32_t zero_point;  /* input zero point */
  int32_t reset;       /* a lowbit_lif_reset_t */
  int32_t reset_delay; /* 0 or 1 */
  int32_t lowest;      /* the membrane type's range */
  int32_t highest;
} lowbit_lif_channel_t;

/* floor(v / 2^k) for k in 1..31 without shifting a negative value. */
static int32_t lowbit_lif_floor_shift32(int32_t v, uint32_t k) {
  const uint32_t biased = (uint32_t)v + UINT32_C(0x80000000); /* v + 2^31, exact */
  return (int32_t)(biased >> k) - (int32_t)(UINT32_C(1) << (31u - k));
}

/* floor(v / 2^15) of a 64-bit value with |v| < 2^62. */
static int32_t lowbit_lif_floor_q15_64(int64_t v) {
  const uint64_t biased = (uint64_t)v + (UINT64_C(1) << 63);
  return (int32_t)((int64_t)(biased >> 15) - (int64_t)(UINT64_C(1) << 48));
}

/* The leak of an int16 membrane value: int32 arithmetic only. */
static int32_t lowbit_lif_leak16(const lowbit_lif_channel_t* ch, int32_t u) {
  if (ch->leak_shift > 0) return u - lowbit_lif_floor_shift32(u, (uint32_t)ch->leak_shift);
  /* |u| <= 2^15 and beta <= 2^15: |u * beta| <= 2^30, so the sum fits int32. */
  return lowbit_lif_floor_shift32(u * ch->beta_q15 + 16384, 15u);
}

/* The leak of an int32 membrane value; the beta product needs 47 bits. */
static int32_t lowbit_lif_leak32(const lowbit_lif_channel_t* ch, int32_t u) {
  if (ch->leak_shift > 0) return u - lowbit_lif_floor_shift32(u, (uint32_t)ch->leak_shift);
  return lowbit_lif_floor_q15_64((int64_t)u * ch->beta_q15 + 16384);
}

/* clamp(a + b - t, INT32_MIN, INT32_MAX) for b in [-255, 255] and t in [0, INT32_MAX], exactly,
 * in int32 arithmetic (a + b - t spans 33 bits; the order of the steps keeps each one in range). */
static int32_t lowbit_lif_sum(int32_t a, int32_t b, int32_t t) {
  if (a >= 0) {
    a -= t; /* in [-INT32_MAX, INT32_MAX] */
  } else {
    if (b < 0 && a < INT32_MIN - b) return INT32_MIN; /* t >= 0 only lowers it further */
    a += b;                                           /* in [INT32_MIN, 254] */
    if (a < INT32_MIN + t) return INT32_MIN;
    return a - t;
  }
  if (b > 0 && a > INT32_MAX - b) return INT32_MAX;
  if (b < 0 && a < INT32_MIN - b) return INT32_MIN;
  return a + b;
}

/* The new membrane of one neuron from its leaked value; writes its spike and pending reset. */
static int32_t lowbit_lif_update(const lowbit_lif_channel_t* ch, int32_t leaked, int32_t input,
                                 uint8_t* pending, int8_t* spike) {
  int32_t u;
  int fired;
  if (ch->reset_delay != 0) {
    const int reset = *pending != 0;
    if (ch->reset == LOWBIT_LIF_RESET_SUBTRACT) {
      u = lowbit_lif_sum(leaked, input, reset ? ch->threshold : 0);
    } else if (ch->reset == LOWBIT_LIF_RESET_ZERO) {
      u = lowbit_lif_sum(reset ? 0 : leaked, input, 0);
    } else {
      u = lowbit_lif_sum(leaked, input, 0);
    }
    u = u < ch->lowest ? ch->lowest : (u > ch->highest ? ch->highest : u);
    fired = u > ch->threshold;
    *pending = (uint8_t)fired;
  } else {
    u = lowbit_lif_sum(leaked, input, 0);
    u = u < ch->lowest ? ch->lowest : (u > ch->highest ? ch->highest : u);
    fired = u > ch->threshold;
    /* u > threshold >= 1, so u - threshold stays in range. */
    if (fired && ch->reset == LOWBIT_LIF_RESET_SUBTRACT) u -= ch->threshold;
    if (fired && ch->reset == LOWBIT_LIF_RESET_ZERO) u = 0;
  }
  *spike = (int8_t)fired;
  return u;
}

/* Everything but the buffers. */
static lowbit_status_t lowbit_lif_check(const lowbit_lif_params_t* p) {
  size_t c;
  if (p == NULL || p->threshold == NULL || p->channels == 0 || p->plane == 0) {
    return LOWBIT_ERR_ARG;
  }
  if (p->param_count != 1 && p->param_count != p->channels) return LOWBIT_ERR_ARG;
  if (lowbit_mul_size(lowbit_mul_size(p->channels, p->plane), sizeof(int32_t)) == 0) {
    return LOWBIT_ERR_ARG; /* overflow */
  }
  if (p->leak_shift == 0 && p->beta_q15 == NULL) return LOWBIT_ERR_ARG;
  if (!lowbit_zero_point_ok(p->input_zero_point) || p->leak_shift < 0 || p->leak_shift > 15 ||
      (unsigned)p->reset >= (unsigned)LOWBIT_LIF_RESET_COUNT || /* unsigned: short enums */
      (p->reset_delay != 0 && p->reset_delay != 1) ||
      (p->membrane_bits != 16 && p->membrane_bits != 32)) {
    return LOWBIT_ERR_RANGE;
  }
  for (c = 0; c < p->param_count; ++c) {
    if (p->threshold[c] < 1) return LOWBIT_ERR_RANGE;
    if (p->leak_shift == 0 && (p->beta_q15[c] < 0 || p->beta_q15[c] > 32768)) {
      return LOWBIT_ERR_RANGE;
    }
  }
  return LOWBIT_OK;
}

size_t lowbit_lif_state_bytes(const lowbit_lif_params_t* params) {
  size_t count;
  if (lowbit_lif_check(params) != LOWBIT_OK) return 0;
  count = params->channels * params->plane; /* checked: times 4 does not overflow */
  return count * (size_t)(params->membrane_bits / 8) + (params->reset_delay != 0 ? count : 0);
}

lowbit_status_t lowbit_lif_reset_state(const lowbit_lif_params_t* params, void* membrane,
                                       uint8_t* pending_reset) {
  size_t count;
  size_t i;
  const lowbit_status_t status = lowbit_lif_check(params);
  if (status != LOWBIT_OK) return status;
  if (membrane == NULL || (params->reset_delay != 0 && pending_reset == NULL)) {
    return LOWBIT_ERR_ARG;
  }
  count = params->channels * params->plane;
  if (params->membrane_bits == 16) {
    int16_t* const u = (int16_t*)membrane;
    for (i = 0; i < count; ++i) u[i] = 0;
  } else {
    int32_t* const u = (int32_t*)membrane;
    for (i = 0; i < count; ++i) u[i] = 0;
  }
  if (pending_reset != NULL) {
    for (i = 0; i < count; ++i) pending_reset[i] = 0;
  }
  return LOWBIT_OK;
}

lowbit_status_t lowbit_lif_step_s8(const lowbit_lif_params_t* params, const int8_t* current,
                                   void* membrane, uint8_t* pending_reset, int8_t* spikes) {
  lowbit_lif_channel_t ch;
  uint8_t unused = 0;
  size_t plane;
  size_t c;
  const lowbit_status_t status = lowbit_lif_check(params);
  if (status != LOWBIT_OK) return status;
  if (current == NULL || membrane == NULL || spikes == NULL ||
      (params->reset_delay != 0 && pending_reset == NULL)) {
    return LOWBIT_ERR_ARG;
  }
  plane = params->plane;
  ch.leak_shift = params->leak_shift;
  ch.zero_point = params->input_zero_point;
  ch.reset = (int32_t)params->reset;
  ch.reset_delay = params->reset_delay;
  ch.lowest = params->membrane_bits == 16 ? INT16_MIN : INT32_MIN;
  ch.highest = params->membrane_bits == 16 ? INT16_MAX : INT32_MAX;
  for (c = 0; c < params->channels; ++c) {
    const size_t entry = params->param_count == 1 ? 0 : c;
    const size_t base = c * plane;
    size_t j;
    ch.threshold = params->threshold[entry];
    ch.beta_q15 = params->leak_shift == 0 ? params->beta_q15[entry] : 0;
    if (params->membrane_bits == 16) {
      int16_t* const u = (int16_t*)membrane + base;
      for (j = 0; j < plane; ++j) {
        const int32_t input = (int32_t)current[base + j] - ch.zero_point;
        /* Without a delay the pending reset is never read: a dummy stands in for it. */
        uint8_t* const r = ch.reset_delay != 0 ? pending_reset + base + j : &unused;
        u[j] = (int16_t)lowbit_lif_update(&ch, lowbit_lif_leak16(&ch, u[j]), input, r,
                                          spikes + base + j);
      }
    } else {
      int32_t* const u = (int32_t*)membrane + base;
      for (j = 0; j < plane; ++j) {
        const int32_t input = (int32_t)current[base + j] - ch.zero_point;
        uint8_t* const r = ch.reset_delay != 0 ? pending_reset + base + j : &unused;
        u[j] = lowbit_lif_update(&ch, lowbit_lif_leak32(&ch, u[j]), input, r, spikes + base + j);
      }
    }
  }
  return LOWBIT_OK;
}
