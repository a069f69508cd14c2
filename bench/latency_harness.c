/* Latency harness for an exported model (bench/latency.cpp compiles it with cc -O2 next to the
 * export's model.c and runtime): reads int8 samples back to back from argv[1], calls
 * <prefix>_predict on each of them, once as warm-up and then argv[2] timed repetitions, and prints
 * one line per repetition: "rep R: MICROSECONDS us/sample checksum C". The checksum of the outputs
 * keeps the compiler from dropping the calls. Compile with -DPREDICT=<prefix>_predict and the
 * prefix's INPUT_SIZE, OUTPUT_SIZE and SCRATCH_SIZE macros as -DIN_SIZE, -DOUT_SIZE, -DSCRATCH. */
#define _POSIX_C_SOURCE 199309L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model.h"

static int8_t scratch[SCRATCH];

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static long run_all(const int8_t* inputs, long samples, int8_t* output) {
  long checksum = 0;
  long s;
  int i;
  for (s = 0; s < samples; ++s) {
    if (PREDICT(inputs + s * IN_SIZE, output, scratch) != LOWBIT_OK) {
      fprintf(stderr, "sample %ld: predict failed\n", s);
      exit(2);
    }
    for (i = 0; i < OUT_SIZE; ++i) checksum += output[i];
  }
  return checksum;
}

int main(int argc, char** argv) {
  FILE* in;
  long size, samples, reps, r;
  int8_t* inputs;
  int8_t output[OUT_SIZE];
  if (argc != 3) {
    fprintf(stderr, "usage: %s INPUTS REPETITIONS\n", argv[0]);
    return 1;
  }
  in = fopen(argv[1], "rb");
  if (in == NULL) {
    fprintf(stderr, "cannot open %s\n", argv[1]);
    return 1;
  }
  fseek(in, 0, SEEK_END);
  size = ftell(in);
  fseek(in, 0, SEEK_SET);
  samples = size / IN_SIZE;
  reps = atol(argv[2]);
  if (samples < 1 || size % IN_SIZE != 0 || reps < 1) {
    fprintf(stderr, "%s: %ld bytes is no whole number of %d-byte samples\n", argv[1], size,
            IN_SIZE);
    return 1;
  }
  inputs = (int8_t*)malloc((size_t)size);
  if (inputs == NULL || fread(inputs, 1, (size_t)size, in) != (size_t)size) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  fclose(in);
  run_all(inputs, samples, output);
  for (r = 0; r < reps; ++r) {
    double start = now_us();
    long checksum = run_all(inputs, samples, output);
    double elapsed = now_us() - start;
    printf("rep %ld: %.4f us/sample checksum %ld\n", r, elapsed / (double)samples, checksum);
  }
  free(inputs);
  return 0;
}
