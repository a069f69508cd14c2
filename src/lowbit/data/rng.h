// A small seeded random number generator whose sequence is fixed by this code alone, so data
// sets, splits and shuffles are identical across compilers, standard libraries and LibTorch
// versions (std:: distributions and torch::randperm do not promise that).
#pragma once

#include <cstdint>
#include <vector>

namespace lowbit::data {

/// SplitMix64 generator with a few distributions; same seed, same sequence, everywhere.
class Rng {
 public:
  /// Starts the sequence for `seed`.
  explicit Rng(uint64_t seed) : state_(seed) {}
  /// The next raw 64-bit value.
  uint64_t next_u64();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n) without modulo bias; n must be > 0.
  uint64_t below(uint64_t n);
  /// Standard normal (Box-Muller).
  double normal();
  /// Normal with the given mean and standard deviation.
  double normal(double mean, double sigma) { return mean + sigma * normal(); }
  /// Exponential with the given mean.
  double exponential(double mean);

 private:
  uint64_t state_;  ///< SplitMix64 state.
};

/// Mixes two values into a new seed (for independent sub-streams such as seed + epoch).
uint64_t mix_seed(uint64_t a, uint64_t b);

/// A random permutation of 0..n-1 (Fisher-Yates), fixed by `seed`.
std::vector<int64_t> random_permutation(int64_t n, uint64_t seed);

}  // namespace lowbit::data
