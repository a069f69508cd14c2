// Image transforms on whole batches [N, C, H, W] with vectorized tensor ops. Random transforms
// draw from a torch::Generator, so a seeded generator gives the same output every run.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace lowbit::data {

/// How resize() computes output pixels.
enum class ResizeMode {
  kArea,      ///< Average of the covered input area (adaptive average pooling), for shrinking.
  kBilinear,  ///< Bilinear interpolation with half-pixel centers (align_corners = false).
};

/// Resizes images [N, C, H, W] (or [N, H, W]) to height x width.
torch::Tensor resize(const torch::Tensor& images, int64_t height, int64_t width,
                     ResizeMode mode = ResizeMode::kArea);

/// (x - mean[c]) / std[c] per channel c of [N, C, ...]; one value applies to every channel.
torch::Tensor normalize(const torch::Tensor& images, const std::vector<double>& mean,
                        const std::vector<double>& std);

/// The preprocessing a data set's images get: resize (when a size is set), then normalize (when
/// statistics are set).
struct Preprocessing {
  int64_t height = 0;                              ///< Height after resize; 0 = no resize.
  int64_t width = 0;                               ///< Width after resize; 0 = no resize.
  ResizeMode resize_mode = ResizeMode::kBilinear;  ///< How resize computes pixels.
  std::vector<double> mean;                        ///< normalize() means; empty = no normalization.
  std::vector<double> std;                         ///< normalize() standard deviations.
};

/// Applies `preprocessing` to images [N, C, H, W]: resize, then normalize, each when set.
torch::Tensor preprocess(const torch::Tensor& images, const Preprocessing& preprocessing);

/// Per-channel mean and standard deviation of [N, C, ...], for normalize().
std::pair<std::vector<double>, std::vector<double>> channel_mean_std(const torch::Tensor& images);

/// A torch::Generator (CPU) seeded with `seed`.
torch::Generator make_generator(uint64_t seed);

/// Mirrors images [..., W] left to right.
torch::Tensor hflip(const torch::Tensor& images);

/// Mirrors each image of [N, ...] with probability `p`.
torch::Tensor random_hflip(const torch::Tensor& images, double p, torch::Generator& generator);

/// Pads [N, C, H, W] by `padding` pixels of value `fill` (per channel; empty = 0) on each side and
/// crops a random H x W window per image (pixels are moved exactly, never interpolated).
torch::Tensor random_crop(const torch::Tensor& images, int64_t padding, torch::Generator& generator,
                          const std::vector<double>& fill = {});

/// How random_affine samples the input between pixels.
enum class AffineInterpolation {
  kBilinear,  ///< Weighted average of the four nearest input pixels.
  kNearest,   ///< The nearest input pixel (torchvision's default for rotations and affines).
};

/// Ranges of the random affine transform; each image draws its own parameters uniformly.
struct AffineOptions {
  double max_rotation_deg = 10.0;  ///< Rotation in [-max, max] degrees.
  double max_translate = 0.1;      ///< Shift in [-max, max] of the image size, per axis.
  double min_scale = 0.9;          ///< Smallest zoom factor.
  double max_scale = 1.1;          ///< Largest zoom factor.
  /// How output pixels are sampled: bilinear (blurs a little) or nearest, torchvision's
  /// RandomAffine/RandomRotation default, which keeps the image's sharpness.
  AffineInterpolation interpolation = AffineInterpolation::kBilinear;
};

/// Rotates, shifts and zooms each image of [N, C, H, W] (bilinear or nearest; `fill`, per
/// channel, outside; empty = 0).
torch::Tensor random_affine(const torch::Tensor& images, const AffineOptions& options,
                            torch::Generator& generator, const std::vector<double>& fill = {});

/// A chain of augmentations for training batches; each step runs when enabled.
struct AugmentOptions {
  int64_t crop_padding = 0;       ///< random_crop padding; 0 = off.
  double flip_probability = 0.0;  ///< random_hflip probability; 0 = off.
  bool affine = false;            ///< Whether to apply random_affine.
  AffineOptions affine_options;   ///< Ranges for random_affine.
  /// Value per channel (one value: every channel) of the pixels crop and affine bring in from
  /// outside the image, in the space of the tensors augmented: after normalization that is the
  /// normalized value of the raw fill (black is not 0 there). Empty = 0.
  std::vector<double> fill;
  /// Share of the samples augmented, each drawn on its own (torchvision's RandomApply); the
  /// others pass through clean, so 0.5 gives BitNetMCU's mix of clean and augmented copies.
  double probability = 1.0;
  /// When defined: the training images before preprocessing, by sample position [N, C, H, W].
  /// The samples of a batch are then augmented there, at the source resolution, and put through
  /// `preprocessing` as the clean data were (BitNetMCU's order: augment, then resize); `fill`
  /// is then in raw pixel units. Undefined: the batch itself is augmented.
  torch::Tensor source_images;
  /// What turns augmented `source_images` into model inputs (unused without them).
  Preprocessing preprocessing;
  /// Asks the data source to set `source_images` when it resizes the data (the default); false
  /// augments the resized, normalized batches (cheaper, but crops and affine transforms then
  /// interpolate the already shrunk image).
  bool before_resize = true;
};

/// Applies crop, then flip, then affine, as enabled in `options`.
torch::Tensor augment(const torch::Tensor& images, const AugmentOptions& options,
                      torch::Generator& generator);

}  // namespace lowbit::data
