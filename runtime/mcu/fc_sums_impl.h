/* Shared C parts of the lowbit_mcu_fc_sums_b<bits> kernels (included by fc_sums_b<bits>.c with a
 * constant `bits`, so every helper folds to one bit width). Not a public header.
 *
 * Both paths keep partial sums in 16-bit lanes, two outputs per 32-bit word, and add the lanes
 * out into the int32 sums after LOWBIT_MCU_LANE_INPUTS(bits) nonzero inputs, before a lane can
 * pass 65535 (each product d * f is at most 255 * (2^bits - 1)).
 *
 * - Multiplier path: a 32-bit word of a row is spread into 16 / bits words whose two 16-bit lanes
 *   each hold one field ((v >> (k * bits)) & mask, k = 0 .. 16 / bits - 1), and one multiply by d
 *   adds two products. Lane word g * G + k (G = 16 / bits) holds outputs 2 * G * g + k (low) and
 *   2 * G * g + k + G (high). Rows that are not whole aligned words are read a byte at a time
 *   (the byte b spread as b | b << 12, the same way with G = 4 / bits).
 * - Table path (no multiplier): per nonzero input a table of d * (field pattern) packed into
 *   lanes, looked up per field group; lane word q holds outputs 2q and 2q + 1.
 */
#ifndef LOWBIT_MCU_FC_SUMS_IMPL_H_
#define LOWBIT_MCU_FC_SUMS_IMPL_H_

#include "lowbit_mcu.h"

/* Nonzero inputs whose products a 16-bit lane holds: floor(65535 / (255 * (2^bits - 1))). */
#define LOWBIT_MCU_LANE_INPUTS(bits) (65535u / (255u * ((1u << (bits)) - 1u)))

#if defined(__GNUC__)
#define LOWBIT_MCU_INLINE static inline __attribute__((always_inline))
#else
#define LOWBIT_MCU_INLINE static inline
#endif

/* Inline assembly is used with GCC-compatible compilers unless LOWBIT_MCU_NO_ASM is defined. */
#if defined(__GNUC__) && !defined(LOWBIT_MCU_NO_ASM)
#define LOWBIT_MCU_ASM 1
#else
#define LOWBIT_MCU_ASM 0
#endif

/* STEP(0) .. STEP(15): loops over a lane group written out, so that -Os keeps them unrolled
 * (each STEP tests its k against the group size, a constant once `bits` is). */
// clang-format off
#define LOWBIT_MCU_REPEAT16(STEP)                                                         \
  STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)                         \
  STEP(8) STEP(9) STEP(10) STEP(11) STEP(12) STEP(13) STEP(14) STEP(15)
// clang-format on

/* Zeroes n words. A loop the compiler cannot turn into a memset call (no C library). */
LOWBIT_MCU_INLINE void lowbit_mcu_zero(uint32_t* p, uint32_t n) {
  uint32_t* const end = p + n;
  while (p != end) {
    *(volatile uint32_t*)p = 0u;
    ++p;
  }
}

/* Adds n lane words out into sums and clears them. Lane word t holds outputs o = t + (t & -G)
 * (low half) and o + G (high half): groups of G words cover 2 G outputs (G a power of 2). */
LOWBIT_MCU_INLINE void lowbit_mcu_flush(uint32_t* lanes, uint32_t n, uint32_t G, int32_t* sums) {
  uint32_t t;
  for (t = 0; t < n; ++t) {
    const uint32_t v = lanes[t];
    int32_t* const o = sums + t + (t & (0u - G));
    lanes[t] = 0u;
    o[0] += (int32_t)(v & 0xFFFFu);
    o[G] += (int32_t)(v >> 16);
  }
}

/* The lane layout of one call: rows as aligned 32-bit words or as bytes. */
typedef struct {
  uint32_t n_pad; /* outputs rounded up to whole bytes */
  uint32_t rb;    /* row bytes */
  uint32_t units; /* words or bytes per row */
  uint32_t G;     /* lane words per unit */
} lowbit_mcu_shape_t;

LOWBIT_MCU_INLINE lowbit_mcu_shape_t lowbit_mcu_shape(const uint8_t* w, uint32_t n_out,
                                                      uint32_t bits, int allow_words) {
  lowbit_mcu_shape_t s;
  s.n_pad = LOWBIT_MCU_FC_SUMS_WORDS(n_out, bits);
  s.rb = s.n_pad / (8u / bits);
  if (allow_words && ((s.rb | (uint32_t)(uintptr_t)w) & 3u) == 0u) {
    s.units = s.rb / 4u;
    s.G = 16u / bits;
  } else {
    s.units = s.rb;
    s.G = bits == 8u ? 1u : 4u / bits;
  }
  return s;
}

/* Multiplier path, one row of whole aligned words: adds d times the row's fields into the lane
 * words. For 4 bits on Thumb (Cortex-M0, M3/M4/M7) an assembly loop: per word one load, four
 * masks and four multiply-adds; Thumb-2 masks with a shifted operand, multiplies and adds in one
 * MLA and moves the four lane words with one LDM and one STM (13 instructions per word; r7 is
 * left alone, clang keeps its frame pointer there). Thumb-1 has eight low registers, so each
 * lane word is loaded, added and stored (28); it needs seven of them, more than clang leaves to
 * inline assembly, so clang builds for Thumb-1 take the C loop. Elsewhere C,
 * written out for 4 bits so that -Os keeps the four products in one loop iteration. */
LOWBIT_MCU_INLINE void lowbit_mcu_row_mul_words(const uint32_t* r, const uint32_t* end, uint32_t d,
                                                uint32_t* acc, uint32_t bits) {
  const uint32_t field = (1u << bits) - 1u;
  const uint32_t mask = field | field << 16;
#if LOWBIT_MCU_ASM && defined(__thumb2__)
  if (bits == 4u) {
    uint32_t v, t;
    __asm__ volatile(
        "  .syntax unified\n"
        "1:\n"
        "  ldr %[v], [%[r]], #4\n"
        "  ldm %[acc], {r4, r5, r6, r8}\n"
        "  and %[t], %[v], %[mask]\n"
        "  mla r4, %[t], %[d], r4\n"
        "  and %[t], %[mask], %[v], lsr #4\n"
        "  mla r5, %[t], %[d], r5\n"
        "  and %[t], %[mask], %[v], lsr #8\n"
        "  mla r6, %[t], %[d], r6\n"
        "  and %[t], %[mask], %[v], lsr #12\n"
        "  mla r8, %[t], %[d], r8\n"
        "  stmia %[acc]!, {r4, r5, r6, r8}\n"
        "  cmp %[r], %[end]\n"
        "  bne 1b\n"
        : [r] "+r"(r), [acc] "+r"(acc), [v] "=&r"(v), [t] "=&r"(t)
        : [end] "r"(end), [d] "r"(d), [mask] "r"(mask)
        : "r4", "r5", "r6", "r8", "cc", "memory");
    return;
  }
#elif LOWBIT_MCU_ASM && defined(__thumb__) && !defined(__clang__)
  if (bits == 4u) {
    uint32_t v, t, a;
    __asm__ volatile(
        "  .syntax unified\n" /* GCC hands Thumb inline assembly over in divided syntax */
        "1:\n"
        "  ldm %[r]!, {%[v]}\n"
        "  movs %[t], %[v]\n"
        "  ands %[t], %[mask]\n"
        "  muls %[t], %[d]\n"
        "  ldr %[a], [%[acc], #0]\n"
        "  adds %[a], %[a], %[t]\n"
        "  str %[a], [%[acc], #0]\n"
        "  lsrs %[t], %[v], #4\n"
        "  ands %[t], %[mask]\n"
        "  muls %[t], %[d]\n"
        "  ldr %[a], [%[acc], #4]\n"
        "  adds %[a], %[a], %[t]\n"
        "  str %[a], [%[acc], #4]\n"
        "  lsrs %[t], %[v], #8\n"
        "  ands %[t], %[mask]\n"
        "  muls %[t], %[d]\n"
        "  ldr %[a], [%[acc], #8]\n"
        "  adds %[a], %[a], %[t]\n"
        "  str %[a], [%[acc], #8]\n"
        "  lsrs %[t], %[v], #12\n"
        "  ands %[t], %[mask]\n"
        "  muls %[t], %[d]\n"
        "  ldr %[a], [%[acc], #12]\n"
        "  adds %[a], %[a], %[t]\n"
        "  str %[a], [%[acc], #12]\n"
        "  adds %[acc], #16\n"
        "  cmp %[r], %[end]\n"
        "  bne 1b\n"
        : [r] "+l"(r), [acc] "+l"(acc), [v] "=&l"(v), [t] "=&l"(t), [a] "=&l"(a)
        : [end] "r"(end), [d] "l"(d), [mask] "l"(mask)
        : "cc", "memory");
    return;
  }
#endif
  do {
    const uint32_t v = *r++;
#define LOWBIT_MCU_WORD_STEP(k) \
  if ((k) < 16u / bits) acc[k] += ((v >> ((k)*bits)) & mask) * d;
    LOWBIT_MCU_REPEAT16(LOWBIT_MCU_WORD_STEP)
#undef LOWBIT_MCU_WORD_STEP
    acc += 16u / bits;
  } while (r != end);
}

/* Multiplier path, one row a byte at a time (rows that are not whole aligned words). */
LOWBIT_MCU_INLINE void lowbit_mcu_row_mul_bytes(const uint8_t* row, const uint8_t* end, uint32_t d,
                                                uint32_t* acc, uint32_t bits) {
  const uint32_t field = (1u << bits) - 1u;
  const uint32_t mask = field | field << 16;
  do {
    const uint32_t v = (uint32_t)*row | (uint32_t)*row << 12;
    ++row;
#define LOWBIT_MCU_BYTE_STEP(k) \
  if ((k) < 4u / bits) acc[k] += ((v >> ((k)*bits)) & mask) * d;
    LOWBIT_MCU_REPEAT16(LOWBIT_MCU_BYTE_STEP)
#undef LOWBIT_MCU_BYTE_STEP
    acc += 4u / bits;
  } while (row != end);
}

/* Multiplier path, one row: the word or the byte loop, or LOWBIT_MCU_ROW_MUL_WORDS_ASM. */
LOWBIT_MCU_INLINE void lowbit_mcu_row_mul(const uint8_t* row, uint32_t d, uint32_t* acc,
                                          const lowbit_mcu_shape_t* s, uint32_t bits) {
  if (s->G == 16u / bits) {
    const uint32_t* r = (const uint32_t*)(const void*)row;
    lowbit_mcu_row_mul_words(r, r + s->units, d, acc, bits);
  } else {
    lowbit_mcu_row_mul_bytes(row, row + s->units, d, acc, bits);
  }
}

/* Multiplier path for 1, 2 and 4 bits (8 bits: lowbit_mcu_sums_mul_b8). */
LOWBIT_MCU_INLINE int32_t lowbit_mcu_sums_mul(const int8_t* x, uint32_t n_in, int32_t skip,
                                              const uint8_t* w, uint32_t n_out, int32_t* sums,
                                              uint32_t* work, uint32_t bits) {
  const lowbit_mcu_shape_t s = lowbit_mcu_shape(w, n_out, bits, 1);
  const int8_t* const end = x + n_in;
  uint32_t pending = 0;
  int32_t total = 0;
  lowbit_mcu_zero((uint32_t*)sums, s.n_pad);
  lowbit_mcu_zero(work, s.n_pad / 2u);
  for (; x != end; ++x, w += s.rb) {
    const uint32_t d = (uint32_t)((int32_t)*x - skip);
    if (d == 0u) continue;
    total += (int32_t)d;
    lowbit_mcu_row_mul(w, d, work, &s, bits);
    if (++pending == LOWBIT_MCU_LANE_INPUTS(bits)) {
      pending = 0;
      lowbit_mcu_flush(work, s.n_pad / 2u, s.G, sums);
    }
  }
  lowbit_mcu_flush(work, s.n_pad / 2u, s.G, sums);
  return total;
}

/* Multiplier path for 8 bits: one product per byte, straight into the int32 sums. */
LOWBIT_MCU_INLINE int32_t lowbit_mcu_sums_mul_b8(const int8_t* x, uint32_t n_in, int32_t skip,
                                                 const uint8_t* w, uint32_t n_out, int32_t* sums) {
  const int8_t* const end = x + n_in;
  int32_t total = 0;
  uint32_t j;
  lowbit_mcu_zero((uint32_t*)sums, n_out);
  for (; x != end; ++x, w += n_out) {
    const int32_t d = (int32_t)*x - skip;
    if (d == 0) continue;
    total += d;
    for (j = 0; j < n_out; ++j) sums[j] += d * (int32_t)w[j];
  }
  return total;
}

/* Table path, fills the table of one input for 1 and 2 bits: entry lo | hi << bits holds
 * d * lo in the low lane and d * hi in the high lane. */
LOWBIT_MCU_INLINE void lowbit_mcu_pair_table(uint32_t* table, uint32_t d, uint32_t bits) {
  uint32_t hi, lo, high = 0;
  for (hi = 0; hi <= (1u << bits) - 1u; ++hi, high += d << 16) {
    uint32_t v = high;
    for (lo = 0; lo <= (1u << bits) - 1u; ++lo, v += d) *table++ = v;
  }
}

/* Table path (no multiplier) for 1, 2 and 4 bits; 4 bits uses a low- and a high-nibble table. */
LOWBIT_MCU_INLINE int32_t lowbit_mcu_sums_table(const int8_t* x, uint32_t n_in, int32_t skip,
                                                const uint8_t* w, uint32_t n_out, int32_t* sums,
                                                uint32_t* work, uint32_t bits) {
  const lowbit_mcu_shape_t s = lowbit_mcu_shape(w, n_out, bits, 0);
  uint32_t* const table = work + s.n_pad / 2u;
  const int8_t* const end = x + n_in;
  uint32_t pending = 0;
  int32_t total = 0;
  lowbit_mcu_zero((uint32_t*)sums, s.n_pad);
  lowbit_mcu_zero(work, s.n_pad / 2u);
  for (; x != end; ++x, w += s.rb) {
    const uint32_t d = (uint32_t)((int32_t)*x - skip);
    uint32_t* acc = work;
    uint32_t u;
    if (d == 0u) continue;
    total += (int32_t)d;
    if (bits == 4u) {
      uint32_t f, v = 0;
      for (f = 0; f < 16u; ++f, v += d) {
        table[f] = v;
        table[16u + f] = v << 16;
      }
      for (u = 0; u < s.rb; ++u) acc[u] += table[w[u] & 15u] + table[16u + (w[u] >> 4)];
    } else {
      const uint32_t index = (1u << (2u * bits)) - 1u;
      lowbit_mcu_pair_table(table, d, bits);
      for (u = 0; u < s.rb; ++u, acc += 4u / bits) {
        const uint32_t b = w[u];
#define LOWBIT_MCU_TABLE_STEP(k) \
  if ((k) < 4u / bits) acc[k] += table[(b >> (2u * bits * (k))) & index];
        LOWBIT_MCU_REPEAT16(LOWBIT_MCU_TABLE_STEP)
#undef LOWBIT_MCU_TABLE_STEP
      }
    }
    if (++pending == LOWBIT_MCU_LANE_INPUTS(bits)) {
      pending = 0;
      lowbit_mcu_flush(work, s.n_pad / 2u, 1u, sums);
    }
  }
  lowbit_mcu_flush(work, s.n_pad / 2u, 1u, sums);
  return total;
}

/* Table path for 8 bits: d * f = T[f & 15] + (T[f >> 4] << 4) with T[k] = d * k. */
LOWBIT_MCU_INLINE int32_t lowbit_mcu_sums_table_b8(const int8_t* x, uint32_t n_in, int32_t skip,
                                                   const uint8_t* w, uint32_t n_out, int32_t* sums,
                                                   uint32_t* work) {
  const int8_t* const end = x + n_in;
  int32_t total = 0;
  uint32_t j;
  lowbit_mcu_zero((uint32_t*)sums, n_out);
  for (; x != end; ++x, w += n_out) {
    const uint32_t d = (uint32_t)((int32_t)*x - skip);
    uint32_t v = 0;
    if (d == 0u) continue;
    total += (int32_t)d;
    for (j = 0; j < 16u; ++j, v += d) work[j] = v;
    for (j = 0; j < n_out; ++j) sums[j] += (int32_t)(work[w[j] & 15u] + (work[w[j] >> 4] << 4));
  }
  return total;
}

#endif /* LOWBIT_MCU_FC_SUMS_IMPL_H_ */
