// Smart-pixel clusters: the features the seed's Model2 reads, and a synthetic generator of
// signal (prompt muons) and beam-induced-background-like clusters. Physics choices: docs/data.md.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "lowbit/data/dataset.h"

namespace lowbit::data {

/// Pixel rows of a cluster (local y, the bending direction).
inline constexpr int64_t kSmartpixRows = 13;
/// Pixel columns of a cluster (local x, along the beam).
inline constexpr int64_t kSmartpixCols = 21;
/// Features of branch 1: x-profile (21 column sums) then z-global.
inline constexpr int64_t kSmartpixBranch1Features = kSmartpixCols + 1;
/// Features of branch 2: y-profile (13 row sums) then y-local.
inline constexpr int64_t kSmartpixBranch2Features = kSmartpixRows + 1;
/// Column where branch 2 starts in the [N, 36] feature matrix (branch 1 is columns 0..21).
inline constexpr int64_t kSmartpixBranch2Offset = kSmartpixBranch1Features;
/// Total feature columns: 22 + 14 = 36.
inline constexpr int64_t kSmartpixFeatures = kSmartpixBranch1Features + kSmartpixBranch2Features;

/// sign(x) * log2(1 + |x|), elementwise: the seed's compression of charge profiles.
torch::Tensor log2_compress(const torch::Tensor& x);

/// Features of clusters `charge` [N, 13, 21] (electrons, rows = y, columns = x), `z_global` [N]
/// (mm) and `y_local` [N] (mm): float32 [N, 36] laid out as
/// [log2_compress(column sums) x21, z_global, log2_compress(row sums) x13, y_local].
torch::Tensor smartpix_features(const torch::Tensor& charge, const torch::Tensor& z_global,
                                const torch::Tensor& y_local);

/// A Dataset from real clusters (same arrays as smartpix_features) and labels [N] (1 signal,
/// 0 background): inputs [N, 36], float32 targets.
Dataset smartpix_dataset(const torch::Tensor& charge, const torch::Tensor& z_global,
                         const torch::Tensor& y_local, const torch::Tensor& labels,
                         const std::string& name);

/// Settings of the synthetic generator; defaults describe a muon-collider-like first layer.
struct SmartpixOptions {
  int64_t count = 10000;                  ///< Clusters to make; count / 2 signal, rest background.
  uint64_t seed = 1;                      ///< Fixes every random draw.
  double thickness_um = 100.0;            ///< Sensor thickness.
  double pitch_x_um = 25.0;               ///< Pixel pitch along local x (columns, beam direction).
  double pitch_y_um = 25.0;               ///< Pixel pitch along local y (rows, bending direction).
  double layer_radius_mm = 30.0;          ///< Radius of the barrel layer.
  double module_half_width_mm = 8.0;      ///< y-local range is [-half width, +half width].
  double field_t = 3.57;                  ///< Solenoid field along the beam.
  double hall_mobility = 0.11;            ///< Electron Hall mobility (m^2/Vs): tan(Lorentz) = mu*B.
  double beamspot_sigma_z_mm = 1.5;       ///< Spread of the interaction point along z.
  double min_momentum_gev = 1.0;          ///< Signal momentum range (log-uniform).
  double max_momentum_gev = 100.0;        ///< Signal momentum range (log-uniform).
  double min_theta_deg = 10.0;            ///< Signal polar angle range (uniform).
  double max_theta_deg = 170.0;           ///< Signal polar angle range (uniform).
  double electrons_per_um = 73.0;         ///< Most probable e-h pairs per um for a MIP.
  double landau_width = 0.12;             ///< Relative width of the Landau (Moyal) fluctuation.
  double diffusion_sigma_um = 5.0;        ///< Diffusion after drifting the full thickness.
  double noise_electrons = 75.0;          ///< Gaussian electronic noise per pixel.
  double threshold_electrons = 400.0;     ///< Pixels below this read zero.
  double bib_min_momentum_mev = 0.3;      ///< Background electron momentum range (log-uniform).
  double bib_max_momentum_mev = 30.0;     ///< Background electron momentum range (log-uniform).
  double bib_out_of_time_fraction = 0.7;  ///< Share of background hits arriving out of time.
  double bib_min_collected = 0.15;        ///< Out-of-time hits keep this to...
  double bib_max_collected = 0.7;         ///< ...this fraction of their charge.
  double bib_inside_start_fraction =
      0.3;                             ///< Share of background electrons born inside the sensor.
  double bib_nozzle_fraction = 0.5;    ///< Share coming from the beam line away from the IP.
  double bib_nozzle_min_z_mm = 60.0;   ///< Nozzle sources lie at |z| from this...
  double bib_nozzle_max_z_mm = 600.0;  ///< ...to this distance from the IP.
  double bib_nozzle_smear_deg = 3.0;   ///< Angular smearing of nozzle background directions.
};

/// Raw generated clusters, for studies and tests.
struct SmartpixClusters {
  torch::Tensor charge;    ///< float32 [N, 13, 21], electrons after noise and threshold.
  torch::Tensor z_global;  ///< float32 [N], mm.
  torch::Tensor y_local;   ///< float32 [N], mm.
  torch::Tensor labels;    ///< float32 [N], 1 signal, 0 background.
};

/// Generated clusters and their feature Dataset (inputs [N, 36], float targets).
struct SmartpixData {
  Dataset dataset;            ///< Features and labels, samples in shuffled order.
  SmartpixClusters clusters;  ///< The same samples' raw clusters, in the same order.
};

/// Makes options.count clusters, exactly count / 2 of them signal, deterministically for
/// options.seed (the same on any number of threads).
SmartpixData generate_smartpix(const SmartpixOptions& options);

}  // namespace lowbit::data
