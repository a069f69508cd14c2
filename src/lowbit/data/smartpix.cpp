#include "lowbit/data/smartpix.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "lowbit/data/rng.h"

namespace lowbit::data {
namespace {

constexpr double kElectronMassMev = 0.511;
constexpr double kMuonMassMev = 105.66;
constexpr double kSiliconX0Um = 93.7e3;  // radiation length of silicon
constexpr double kStepUm = 1.0;          // tracking step inside the sensor
constexpr double kMaxPathUm = 1500.0;    // beyond this a track has left any 13 x 21 window
constexpr int kMaxAttempts = 1000;       // redraws of a hit that fired no pixel
constexpr int64_t kCenterRow = kSmartpixRows / 2;
constexpr int64_t kCenterCol = kSmartpixCols / 2;

using Grid = std::array<float, kSmartpixRows * kSmartpixCols>;

// A particle entering (or born in) the sensor, in local coordinates: u = local x (columns, along
// the beam), v = local y (rows), w = depth, 0 at the face towards the beam, pixels at w = T.
struct Track {
  double u = 0, v = 0, w = 0;     // start point, um
  double du = 0, dv = 0, dw = 1;  // unit direction
  double momentum_mev = 1000;
  double mass_mev = kMuonMassMev;
  double charge_sign = 1;
  double range_um = kMaxPathUm;  // stops after this path length (soft electrons)
  double collected = 1;          // fraction of charge inside the readout time window
};

// Spreads `q` electrons collected around (u, v) with width `sigma` over the pixels it touches.
void deposit(Grid& grid, double u, double v, double sigma, double q, const SmartpixOptions& o) {
  const auto col0 = static_cast<int64_t>(std::lround(u / o.pitch_x_um)) + kCenterCol;
  const auto row0 = static_cast<int64_t>(std::lround(v / o.pitch_y_um)) + kCenterRow;
  const double k = 1.0 / (std::sqrt(2.0) * sigma);
  // sigma stays below a pitch, so pixels beyond +-1 of the nearest get < 1e-3 of the charge;
  // neighbouring pixels share an edge, so 4 erf calls per axis cover 3 pixels.
  std::array<double, 3> fu{}, fv{};
  double prev =
      std::erf(((static_cast<double>(col0 - 1 - kCenterCol) - 0.5) * o.pitch_x_um - u) * k);
  for (int j = 0; j < 3; ++j) {
    const double next =
        std::erf(((static_cast<double>(col0 - 1 + j - kCenterCol) + 0.5) * o.pitch_x_um - u) * k);
    fu[static_cast<size_t>(j)] = 0.5 * (next - prev);
    prev = next;
  }
  prev = std::erf(((static_cast<double>(row0 - 1 - kCenterRow) - 0.5) * o.pitch_y_um - v) * k);
  for (int j = 0; j < 3; ++j) {
    const double next =
        std::erf(((static_cast<double>(row0 - 1 + j - kCenterRow) + 0.5) * o.pitch_y_um - v) * k);
    fv[static_cast<size_t>(j)] = 0.5 * (next - prev);
    prev = next;
  }
  for (int i = 0; i < 3; ++i) {
    const int64_t r = row0 - 1 + i;
    if (r < 0 || r >= kSmartpixRows) continue;
    for (int j = 0; j < 3; ++j) {
      const int64_t c = col0 - 1 + j;
      if (c < 0 || c >= kSmartpixCols) continue;
      grid[static_cast<size_t>(r * kSmartpixCols + c)] +=
          static_cast<float>(q * fv[static_cast<size_t>(i)] * fu[static_cast<size_t>(j)]);
    }
  }
}

// Follows the track through the sensor in small steps: ionisation scaled by 1/beta^2, one
// Landau-like factor per track plus step-to-step spread, bending about the field (along u),
// multiple scattering; each step's charge drifts to the pixels with Lorentz shift and diffusion.
void simulate(const Track& track, const SmartpixOptions& o, Rng& rng, Grid& grid) {
  const double t = o.thickness_um;
  const double tan_lorentz = o.hall_mobility * o.field_t;
  const double p = track.momentum_mev;
  const double beta2 = p * p / (p * p + track.mass_mev * track.mass_mev);
  const double dedx_scale = std::min(1.0 / beta2, 4.0);
  // Moyal(0,1) = -ln(Z^2): mode 0 and the long tail of a thin-layer energy-loss distribution.
  const double z = rng.normal();
  const double landau = std::clamp(1.0 + o.landau_width * -std::log(z * z + 1e-12), 0.5, 6.0);
  const double q_per_step = o.electrons_per_um * kStepUm * dedx_scale * landau * track.collected;
  // Bending: dphi/ds = 0.3 B q / p (p in GeV, s in m) for the direction part across the field.
  const double bend_per_step = 0.3 * o.field_t * track.charge_sign / (p * 1e-3) * kStepUm * 1e-6;
  const double beta = std::sqrt(beta2);
  const double scatter_per_step = 13.6 / (beta * p) * std::sqrt(kStepUm / kSiliconX0Um);
  double u = track.u, v = track.v, w = track.w;
  double du = track.du, dv = track.dv, dw = track.dw;
  const double limit = std::min(track.range_um, kMaxPathUm);
  for (double s = 0; s < limit; s += kStepUm) {
    const double mu = u + 0.5 * kStepUm * du;
    const double mv = v + 0.5 * kStepUm * dv;
    const double mw = w + 0.5 * kStepUm * dw;
    if (mw < 0 || mw > t) break;
    const double drift = t - mw;
    const double sigma = std::max(0.5, o.diffusion_sigma_um * std::sqrt(drift / t));
    const double q = std::max(0.0, q_per_step * (1.0 + 0.2 * rng.normal()));
    // Electrons drifting along +w in a field along +u are pushed towards -v.
    deposit(grid, mu, mv - drift * tan_lorentz, sigma, q, o);
    u += kStepUm * du;
    v += kStepUm * dv;
    w += kStepUm * dw;
    const double c = std::cos(bend_per_step), sn = std::sin(bend_per_step);
    const double nv = c * dv - sn * dw;
    const double nw = sn * dv + c * dw;
    dv = nv;
    dw = nw;
    // Kicks below 1e-4 rad per step (GeV muons) change nothing visible; skipping them saves time.
    if (scatter_per_step > 1e-4) {
      du += scatter_per_step * rng.normal();
      dv += scatter_per_step * rng.normal();
      dw += scatter_per_step * rng.normal();
    }
    const double norm = std::sqrt(du * du + dv * dv + dw * dw);
    du /= norm;
    dv /= norm;
    dw /= norm;
  }
}

// Places the track so that the middle of its straight path inside the sensor (cut by its range)
// is collected at (uc, vc), which centres the cluster on the middle pixel.
void aim(Track& track, double uc, double vc, const SmartpixOptions& o) {
  const double t = o.thickness_um;
  const double tan_lorentz = o.hall_mobility * o.field_t;
  const double to_exit = track.dw > 0 ? (t - track.w) / track.dw : track.w / -track.dw;
  const double s_ref = 0.5 * std::min({to_exit, track.range_um, kMaxPathUm});
  const double w_ref = track.w + s_ref * track.dw;
  track.u = uc - s_ref * track.du;
  track.v = vc + (t - w_ref) * tan_lorentz - s_ref * track.dv;
}

// A prompt muon from the interaction point hitting the module at (y_local, z_global).
Track signal_track(const SmartpixOptions& o, Rng& rng, double& z_global, double& y_local) {
  const double deg = M_PI / 180.0;
  const double theta = rng.uniform(o.min_theta_deg, o.max_theta_deg) * deg;
  const double p_gev = o.min_momentum_gev *
                       std::exp(rng.uniform() * std::log(o.max_momentum_gev / o.min_momentum_gev));
  const double q = rng.uniform() < 0.5 ? -1.0 : 1.0;
  y_local = rng.uniform(-o.module_half_width_mm, o.module_half_width_mm);
  const double r_mm = std::hypot(o.layer_radius_mm, y_local);
  z_global = rng.normal(0.0, o.beamspot_sigma_z_mm) + r_mm / std::tan(theta);
  // Angle of the radial direction to the module normal, plus the bending over radius r of a
  // helix from the origin: sin(alpha) = r / (2 rho), rho = pT / (0.3 B).
  const double pt = p_gev * std::sin(theta);
  const double rho_mm = pt / (0.3 * o.field_t) * 1e3;
  const double alpha = std::asin(std::min(1.0, r_mm / (2.0 * rho_mm)));
  const double phi = std::atan2(y_local, o.layer_radius_mm) + q * alpha;
  Track track;
  track.du = std::cos(theta);
  track.dv = std::sin(theta) * std::sin(phi);
  track.dw = std::sin(theta) * std::cos(phi);
  track.w = 0;
  track.momentum_mev = p_gev * 1e3;
  track.mass_mev = kMuonMassMev;
  track.charge_sign = q;
  return track;
}

// Continuous-slowing-down range of electrons in silicon (Katz-Penfold, 0.01-3 MeV), um.
double electron_range_um(double kinetic_mev) {
  const double e = std::max(kinetic_mev, 0.01);
  const double g_per_cm2 = 0.412 * std::pow(e, 1.265 - 0.0954 * std::log(e));
  return g_per_cm2 / 2.33 * 1e4;
}

// A soft electron or positron of beam-induced background, position unrelated to its direction.
Track background_track(const SmartpixOptions& o, Rng& rng, double& z_global, double& y_local) {
  const double deg = M_PI / 180.0;
  const double z_max = o.layer_radius_mm / std::tan(o.min_theta_deg * deg);
  z_global = rng.uniform(-z_max, z_max);
  y_local = rng.uniform(-o.module_half_width_mm, o.module_half_width_mm);
  Track track;
  if (rng.uniform() < o.bib_nozzle_fraction) {
    // From the shielding nozzles: the particle (or the photon that makes it in the sensor) comes
    // from a point on the beam line away from the interaction point, smeared by a few degrees.
    const double side = rng.uniform() < 0.5 ? -1.0 : 1.0;
    const double z_source = side * rng.uniform(o.bib_nozzle_min_z_mm, o.bib_nozzle_max_z_mm);
    const double smear = o.bib_nozzle_smear_deg * deg;
    track.du = z_global - z_source + o.layer_radius_mm * smear * rng.normal();
    track.dv = y_local + o.layer_radius_mm * smear * rng.normal();
    track.dw = o.layer_radius_mm;
    const double norm = std::sqrt(track.du * track.du + track.dv * track.dv + track.dw * track.dw);
    track.du /= norm;
    track.dv /= norm;
    track.dw /= norm;
  } else {
    // Isotropic flux through the sensor face: cos(incidence) = sqrt(uniform).
    const double cos_inc = std::sqrt(rng.uniform());
    const double sin_inc = std::sqrt(1.0 - cos_inc * cos_inc);
    const double az = rng.uniform(0.0, 2.0 * M_PI);
    track.du = sin_inc * std::cos(az);
    track.dv = sin_inc * std::sin(az);
    track.dw = (rng.uniform() < 0.5 ? -1.0 : 1.0) * cos_inc;
  }
  // Particles grazing the face must still cross it within the window.
  if (std::abs(track.dw) < 0.03) {
    track.dw = std::copysign(0.03, track.dw == 0 ? 1.0 : track.dw);
    const double scale =
        std::sqrt((1.0 - 0.03 * 0.03) / (track.du * track.du + track.dv * track.dv));
    track.du *= scale;
    track.dv *= scale;
  }
  const double p =
      o.bib_min_momentum_mev *
      std::exp(rng.uniform() * std::log(o.bib_max_momentum_mev / o.bib_min_momentum_mev));
  track.momentum_mev = p;
  track.mass_mev = kElectronMassMev;
  track.charge_sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
  const double kinetic = std::hypot(p, kElectronMassMev) - kElectronMassMev;
  track.range_um = electron_range_um(kinetic);
  track.w = track.dw > 0 ? 0.0 : o.thickness_um;
  if (rng.uniform() < o.bib_inside_start_fraction) {
    // Compton electron or conversion born inside the sensor.
    track.w = rng.uniform(0.05, 0.95) * o.thickness_um;
  }
  if (rng.uniform() < o.bib_out_of_time_fraction) {
    track.collected = rng.uniform(o.bib_min_collected, o.bib_max_collected);
  }
  return track;
}

void check_options(const SmartpixOptions& o) {
  auto require = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("SmartpixOptions: ") + what);
  };
  require(o.count >= 0, "count must be >= 0");
  require(o.thickness_um > 0 && o.pitch_x_um > 0 && o.pitch_y_um > 0,
          "thickness_um and pitches must be > 0");
  require(o.layer_radius_mm > 0 && o.module_half_width_mm > 0,
          "layer_radius_mm and module_half_width_mm must be > 0");
  require(o.min_momentum_gev > 0 && o.max_momentum_gev >= o.min_momentum_gev,
          "need 0 < min_momentum_gev <= max_momentum_gev");
  require(o.min_theta_deg > 0 && o.max_theta_deg < 180 && o.max_theta_deg >= o.min_theta_deg,
          "need 0 < min_theta_deg <= max_theta_deg < 180");
  require(o.bib_min_momentum_mev > 0 && o.bib_max_momentum_mev >= o.bib_min_momentum_mev,
          "need 0 < bib_min_momentum_mev <= bib_max_momentum_mev");
  require(o.noise_electrons >= 0 && o.threshold_electrons >= 0 && o.diffusion_sigma_um > 0,
          "noise and threshold must be >= 0, diffusion_sigma_um > 0");
  require(o.diffusion_sigma_um < std::min(o.pitch_x_um, o.pitch_y_um),
          "diffusion_sigma_um must be below the pixel pitch");
  require(0 <= o.bib_nozzle_min_z_mm && o.bib_nozzle_min_z_mm <= o.bib_nozzle_max_z_mm,
          "need 0 <= bib_nozzle_min_z_mm <= bib_nozzle_max_z_mm");
  require(0 <= o.bib_min_collected && o.bib_min_collected <= o.bib_max_collected &&
              o.bib_max_collected <= 1,
          "need 0 <= bib_min_collected <= bib_max_collected <= 1");
}

}  // namespace

torch::Tensor log2_compress(const torch::Tensor& x) {
  return torch::sign(x) * torch::log2(1 + torch::abs(x));
}

torch::Tensor smartpix_features(const torch::Tensor& charge, const torch::Tensor& z_global,
                                const torch::Tensor& y_local) {
  if (charge.dim() != 3 || charge.size(1) != kSmartpixRows || charge.size(2) != kSmartpixCols) {
    throw std::invalid_argument(
        "smartpix_features: clusters must be [N, 13, 21] (rows y, columns x)");
  }
  const int64_t n = charge.size(0);
  if (z_global.numel() != n || y_local.numel() != n) {
    throw std::invalid_argument(
        "smartpix_features: z_global and y_local need " + std::to_string(n) + " values, got " +
        std::to_string(z_global.numel()) + " and " + std::to_string(y_local.numel()));
  }
  const torch::Tensor c = charge.to(torch::kFloat32);
  const torch::Tensor x_profile = log2_compress(c.sum(1));
  const torch::Tensor y_profile = log2_compress(c.sum(2));
  return torch::cat({x_profile, z_global.reshape({n, 1}).to(torch::kFloat32), y_profile,
                     y_local.reshape({n, 1}).to(torch::kFloat32)},
                    1);
}

Dataset smartpix_dataset(const torch::Tensor& charge, const torch::Tensor& z_global,
                         const torch::Tensor& y_local, const torch::Tensor& labels,
                         const std::string& name) {
  if (labels.numel() != charge.size(0)) {
    throw std::invalid_argument("smartpix_dataset(" + name +
                                "): " + std::to_string(labels.numel()) + " labels for " +
                                std::to_string(charge.size(0)) + " clusters");
  }
  Dataset out;
  out.inputs = smartpix_features(charge, z_global, y_local);
  out.targets = labels.reshape({-1}).to(torch::kFloat32);
  out.name = name;
  return out;
}

SmartpixData generate_smartpix(const SmartpixOptions& o) {
  check_options(o);
  const int64_t n = o.count;
  // Which positions hold signal is a seeded permutation, so classes are exactly balanced.
  const auto order = random_permutation(n, mix_seed(o.seed, 0xC1A55ULL));
  torch::Tensor charge = torch::zeros({n, kSmartpixRows, kSmartpixCols}, torch::kFloat32);
  torch::Tensor z_global = torch::empty({n}, torch::kFloat32);
  torch::Tensor y_local = torch::empty({n}, torch::kFloat32);
  torch::Tensor labels = torch::empty({n}, torch::kFloat32);
  float* charge_ptr = charge.data_ptr<float>();
  float* z_ptr = z_global.data_ptr<float>();
  float* y_ptr = y_local.data_ptr<float>();
  float* label_ptr = labels.data_ptr<float>();
  at::parallel_for(0, n, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      // One stream per sample keeps the result independent of the thread split.
      Rng rng(mix_seed(o.seed, static_cast<uint64_t>(i) + 1));
      const bool is_signal = order[static_cast<size_t>(i)] < n / 2;
      double z = 0, y = 0;
      float* out = charge_ptr + i * kSmartpixRows * kSmartpixCols;
      // A cluster exists only if a pixel fired, so hits that stay below threshold are redrawn.
      for (int attempt = 0, fired = 0; !fired; ++attempt) {
        if (attempt == kMaxAttempts) {
          throw std::invalid_argument("generate_smartpix: no pixel passed threshold_electrons = " +
                                      std::to_string(o.threshold_electrons) + " in " +
                                      std::to_string(kMaxAttempts) + " tries; lower the threshold");
        }
        Track track = is_signal ? signal_track(o, rng, z, y) : background_track(o, rng, z, y);
        aim(track, rng.uniform(-0.5, 0.5) * o.pitch_x_um, rng.uniform(-0.5, 0.5) * o.pitch_y_um, o);
        Grid grid{};
        simulate(track, o, rng, grid);
        for (size_t k = 0; k < grid.size(); ++k) {
          const double value = grid[k] + o.noise_electrons * rng.normal();
          out[k] = value >= o.threshold_electrons ? static_cast<float>(value) : 0.0f;
          if (out[k] > 0) fired = 1;
        }
      }
      z_ptr[i] = static_cast<float>(z);
      y_ptr[i] = static_cast<float>(y);
      label_ptr[i] = is_signal ? 1.0f : 0.0f;
    }
  });
  SmartpixData data;
  data.clusters = {charge, z_global, y_local, labels};
  data.dataset = smartpix_dataset(charge, z_global, y_local, labels,
                                  "smartpix-synthetic(seed=" + std::to_string(o.seed) + ")");
  return data;
}

}  // namespace lowbit::data
