/* The MCU kernel bench's inference: the demo model of gen_demo.py (256-64-64-64-10, 4-bit) on
 * runtime/mcu's kernels, as the exporter's generated code calls them. Reads 256 int8 inputs from
 * stdin, writes the 10 int8 outputs to stdout; no C library. */
#include "lowbit_mcu.h"

int lowbit_test_read(char* buffer, int n);
int lowbit_test_write(const char* text, int n);
int main(void);

extern const uint8_t demo_w0[], demo_w1[], demo_w2[], demo_w3[];
extern const int16_t demo_c0[], demo_c1[], demo_c2[], demo_c3[];
extern const int32_t demo_m0[], demo_m1[], demo_m2[], demo_m3[];
extern const uint8_t demo_r0[], demo_r1[], demo_r2[], demo_r3[];

static int8_t input[256];
static int8_t hidden_a[64], hidden_b[64], output[10];
static int32_t sums[64];
static uint32_t work[LOWBIT_MCU_FC_WORK_WORDS(64, 4)];

static void layer(const int8_t* x, uint32_t n_in, const uint8_t* w, uint32_t n_out,
                  const int16_t* c, const int32_t* m, const uint8_t* r, int8_t* y) {
  const int32_t d = lowbit_mcu_fc_sums_b4(x, n_in, -128, w, n_out, sums, work);
  lowbit_mcu_requant_c16(sums, n_out, c, -15 * d, 1u, m, r, 0u, -128, -128, 127, y);
}

int main(void) {
  if (lowbit_test_read((char*)input, 256) != 256) return 2;
  layer(input, 256, demo_w0, 64, demo_c0, demo_m0, demo_r0, hidden_a);
  layer(hidden_a, 64, demo_w1, 64, demo_c1, demo_m1, demo_r1, hidden_b);
  layer(hidden_b, 64, demo_w2, 64, demo_c2, demo_m2, demo_r2, hidden_a);
  layer(hidden_a, 64, demo_w3, 10, demo_c3, demo_m3, demo_r3, output);
  return lowbit_test_write((const char*)output, 10) == 10 ? 0 : 1;
}
