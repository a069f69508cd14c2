#include "lowbit/data/transforms.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/functional/vision.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace lowbit::data {
namespace {

void require_4d(const torch::Tensor& images, const char* who) {
  if (images.dim() != 4) {
    throw std::invalid_argument(std::string(who) + ": expected images [N, C, H, W], got " +
                                std::to_string(images.dim()) + " dimensions");
  }
}

torch::Tensor per_channel(const std::vector<double>& values, int64_t channels, int64_t dims,
                          const char* what) {
  if (values.size() != 1 && static_cast<int64_t>(values.size()) != channels) {
    throw std::invalid_argument(std::string(what) + " needs 1 or " + std::to_string(channels) +
                                " values, got " + std::to_string(values.size()));
  }
  std::vector<int64_t> shape(static_cast<size_t>(dims), 1);
  shape[1] = static_cast<int64_t>(values.size());
  return torch::tensor(values, torch::kFloat32).reshape(shape);
}

// The fill value per channel as [1, C, 1, 1] (or [1, 1, 1, 1]) in the images' dtype.
torch::Tensor fill_values(const std::vector<double>& fill, const torch::Tensor& images) {
  if (fill.empty()) return torch::zeros({1, 1, 1, 1}, images.options());
  return per_channel(fill, images.size(1), 4, "augment: fill").to(images.scalar_type());
}

}  // namespace

torch::Tensor resize(const torch::Tensor& images, int64_t height, int64_t width, ResizeMode mode) {
  if (images.dim() == 3) return resize(images.unsqueeze(1), height, width, mode).squeeze(1);
  require_4d(images, "resize");
  if (height <= 0 || width <= 0) throw std::invalid_argument("resize: size must be positive");
  namespace F = torch::nn::functional;
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width});
  if (mode == ResizeMode::kArea) {
    options.mode(torch::kArea);
  } else {
    options.mode(torch::kBilinear).align_corners(false);
  }
  return F::interpolate(images, options);
}

torch::Tensor normalize(const torch::Tensor& images, const std::vector<double>& mean,
                        const std::vector<double>& std) {
  if (images.dim() < 2) throw std::invalid_argument("normalize: expected [N, C, ...]");
  for (double s : std) {
    if (!(s > 0)) throw std::invalid_argument("normalize: std values must be > 0");
  }
  const int64_t c = images.size(1);
  return (images - per_channel(mean, c, images.dim(), "normalize: mean")) /
         per_channel(std, c, images.dim(), "normalize: std");
}

torch::Tensor preprocess(const torch::Tensor& images, const Preprocessing& preprocessing) {
  torch::Tensor out = images;
  if (preprocessing.height > 0 && preprocessing.width > 0) {
    out = resize(out, preprocessing.height, preprocessing.width, preprocessing.resize_mode);
  }
  if (!preprocessing.mean.empty()) out = normalize(out, preprocessing.mean, preprocessing.std);
  return out;
}

std::pair<std::vector<double>, std::vector<double>> channel_mean_std(const torch::Tensor& images) {
  if (images.dim() < 2) throw std::invalid_argument("channel_mean_std: expected [N, C, ...]");
  const torch::Tensor per =
      images.transpose(0, 1).reshape({images.size(1), -1}).to(torch::kFloat64);
  const torch::Tensor mean = per.mean(1);
  const torch::Tensor std = per.std(1, /*unbiased=*/false);
  std::vector<double> m;
  std::vector<double> s;
  for (int64_t k = 0; k < per.size(0); ++k) {
    m.push_back(mean[k].item<double>());
    s.push_back(std[k].item<double>());
  }
  return {m, s};
}

torch::Generator make_generator(uint64_t seed) {
  return at::detail::createCPUGenerator(seed);
}

torch::Tensor hflip(const torch::Tensor& images) {
  return images.flip({images.dim() - 1});
}

torch::Tensor random_hflip(const torch::Tensor& images, double p, torch::Generator& generator) {
  const int64_t n = images.size(0);
  std::vector<int64_t> shape(static_cast<size_t>(images.dim()), 1);
  shape[0] = n;
  const torch::Tensor flip = (torch::rand({n}, generator) < p).reshape(shape);
  return torch::where(flip, hflip(images), images);
}

torch::Tensor random_crop(const torch::Tensor& images, int64_t padding, torch::Generator& generator,
                          const std::vector<double>& fill) {
  require_4d(images, "random_crop");
  if (padding < 0) throw std::invalid_argument("random_crop: padding must be >= 0");
  if (padding == 0) return images;
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t hp = h + 2 * padding, wp = w + 2 * padding;
  // The image is copied into a canvas of the fill value, so every pixel moves exactly.
  torch::Tensor padded = fill_values(fill, images).expand({n, c, hp, wp}).clone();
  padded.slice(2, padding, padding + h).slice(3, padding, padding + w).copy_(images);
  const torch::Tensor oy = torch::randint(2 * padding + 1, {n, 1, 1}, generator, torch::kInt64);
  const torch::Tensor ox = torch::randint(2 * padding + 1, {n, 1, 1}, generator, torch::kInt64);
  const torch::Tensor rows = oy + torch::arange(h, torch::kInt64).reshape({1, h, 1});
  const torch::Tensor cols = ox + torch::arange(w, torch::kInt64).reshape({1, 1, w});
  // Gathering from the flattened padded image moves every pixel exactly, in one op per batch.
  const torch::Tensor flat_index = (rows * wp + cols).reshape({n, 1, h * w}).expand({n, c, h * w});
  return padded.reshape({n, c, hp * wp}).gather(2, flat_index).reshape({n, c, h, w});
}

torch::Tensor random_affine(const torch::Tensor& images, const AffineOptions& options,
                            torch::Generator& generator, const std::vector<double>& fill) {
  require_4d(images, "random_affine");
  if (!(options.min_scale > 0 && options.max_scale >= options.min_scale)) {
    throw std::invalid_argument("random_affine: need 0 < min_scale <= max_scale");
  }
  const int64_t n = images.size(0);
  const auto opts = torch::TensorOptions().dtype(images.scalar_type());
  auto uniform = [&](double lo, double hi) {
    return torch::rand({n}, generator, opts) * (hi - lo) + lo;
  };
  const torch::Tensor angle =
      uniform(-options.max_rotation_deg, options.max_rotation_deg) * (M_PI / 180.0);
  const torch::Tensor scale = uniform(options.min_scale, options.max_scale);
  // affine_grid works in [-1, 1] coordinates, so a shift of t image sizes is 2t there.
  const torch::Tensor tx = uniform(-options.max_translate, options.max_translate) * 2.0;
  const torch::Tensor ty = uniform(-options.max_translate, options.max_translate) * 2.0;
  // theta maps output to input coordinates: the inverse rotation and zoom.
  const torch::Tensor cos_a = torch::cos(angle) / scale;
  const torch::Tensor sin_a = torch::sin(angle) / scale;
  const torch::Tensor theta =
      torch::stack({torch::stack({cos_a, -sin_a, tx}, 1), torch::stack({sin_a, cos_a, ty}, 1)}, 1);
  namespace F = torch::nn::functional;
  const torch::Tensor grid = F::affine_grid(theta, images.sizes(), /*align_corners=*/false);
  // grid_sample brings in zeros from outside; sampling (x - fill) and adding fill back brings in
  // the fill value instead, blended bilinearly at the border as the zeros would be.
  const torch::Tensor f = fill_values(fill, images);
  F::GridSampleFuncOptions sampling;
  if (options.interpolation == AffineInterpolation::kNearest) {
    sampling.mode(torch::kNearest);
  } else {
    sampling.mode(torch::kBilinear);
  }
  return F::grid_sample(images - f, grid,
                        sampling.padding_mode(torch::kZeros).align_corners(false)) +
         f;
}

torch::Tensor augment(const torch::Tensor& images, const AugmentOptions& options,
                      torch::Generator& generator) {
  torch::Tensor out = images;
  if (options.crop_padding > 0) {
    out = random_crop(out, options.crop_padding, generator, options.fill);
  }
  if (options.flip_probability > 0) out = random_hflip(out, options.flip_probability, generator);
  if (options.affine) out = random_affine(out, options.affine_options, generator, options.fill);
  return out;
}

}  // namespace lowbit::data
