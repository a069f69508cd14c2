#include "lowbit/data/transforms.h"

#include <gtest/gtest.h>

namespace lowbit::data {
namespace {

TEST(Transforms, ResizeOfConstantImageIsConstant) {
  const torch::Tensor images = torch::full({2, 1, 28, 28}, 0.25f);
  for (ResizeMode mode : {ResizeMode::kArea, ResizeMode::kBilinear}) {
    const torch::Tensor small = resize(images, 16, 16, mode);
    ASSERT_EQ(small.sizes(), (std::vector<int64_t>{2, 1, 16, 16}));
    EXPECT_TRUE(torch::allclose(small, torch::full({2, 1, 16, 16}, 0.25f)));
  }
  EXPECT_EQ(resize(torch::zeros({3, 28, 28}), 16, 16).sizes(), (std::vector<int64_t>{3, 16, 16}));
}

TEST(Transforms, AreaResizeAveragesBlocks) {
  // 4x4 -> 2x2 averages each 2x2 block exactly.
  const torch::Tensor image = torch::arange(16, torch::kFloat32).reshape({1, 1, 4, 4});
  const torch::Tensor small = resize(image, 2, 2, ResizeMode::kArea);
  EXPECT_TRUE(torch::equal(small, torch::tensor({2.5f, 4.5f, 10.5f, 12.5f}).reshape({1, 1, 2, 2})));
}

TEST(Transforms, NormalizeGivesZeroMeanUnitStd) {
  torch::manual_seed(3);
  const torch::Tensor images =
      torch::rand({64, 3, 8, 8}) * torch::tensor({1.0f, 2.0f, 5.0f}).reshape({1, 3, 1, 1});
  const auto [mean, std] = channel_mean_std(images);
  ASSERT_EQ(mean.size(), 3u);
  EXPECT_NEAR(mean[2], 2.5, 0.1);
  const auto [m2, s2] = channel_mean_std(normalize(images, mean, std));
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(m2[c], 0.0, 1e-5);
    EXPECT_NEAR(s2[c], 1.0, 1e-5);
  }
  EXPECT_THROW(normalize(images, {0.0, 0.0}, {1.0}), std::invalid_argument);
  EXPECT_THROW(normalize(images, {0.0}, {0.0}), std::invalid_argument);
}

TEST(Transforms, PreprocessResizesThenNormalizesEachWhenSet) {
  torch::manual_seed(4);
  const torch::Tensor images = torch::rand({3, 2, 12, 12});
  Preprocessing p;
  EXPECT_TRUE(torch::equal(preprocess(images, p), images));
  p.height = 8;
  p.width = 6;
  p.resize_mode = ResizeMode::kArea;
  EXPECT_TRUE(torch::equal(preprocess(images, p), resize(images, 8, 6, ResizeMode::kArea)));
  p.mean = {0.5, 0.25};
  p.std = {0.5, 2.0};
  EXPECT_TRUE(torch::equal(preprocess(images, p),
                           normalize(resize(images, 8, 6, ResizeMode::kArea), p.mean, p.std)));
  // Resizing works per image: a subset preprocessed alone equals the same rows of the whole set.
  EXPECT_TRUE(
      torch::equal(preprocess(images.slice(0, 1, 2), p), preprocess(images, p)[1].unsqueeze(0)));
}

// Nearest sampling moves pixels without blending them: every output pixel is an input pixel or
// the fill, as with torchvision's default RandomAffine; bilinear sampling makes new values.
TEST(Transforms, NearestAffineOnlyMovesPixels) {
  torch::manual_seed(8);
  const torch::Tensor images = torch::randint(1, 200, {6, 1, 12, 12}).to(torch::kFloat32);
  AffineOptions options;
  options.max_rotation_deg = 30;
  options.interpolation = AffineInterpolation::kNearest;
  auto g1 = make_generator(4);
  const torch::Tensor nearest = random_affine(images, options, g1, {-5.0});
  for (int64_t i = 0; i < images.size(0); ++i) {
    const torch::Tensor allowed = torch::cat({images[i].flatten(), torch::tensor({-5.0f})});
    EXPECT_TRUE(torch::isin(nearest[i].flatten(), allowed).all().item<bool>()) << i;
  }
  EXPECT_FALSE(torch::equal(nearest, images));
  options.interpolation = AffineInterpolation::kBilinear;
  auto g2 = make_generator(4);
  const torch::Tensor bilinear = random_affine(images, options, g2, {-5.0});
  EXPECT_FALSE(
      torch::isin(bilinear.flatten(), torch::cat({images.flatten(), torch::tensor({-5.0f})}))
          .all()
          .item<bool>());
}

TEST(Transforms, FlipTwiceIsIdentityAndRandomFlipPicksPerImage) {
  torch::manual_seed(4);
  const torch::Tensor images = torch::rand({32, 1, 5, 7});
  EXPECT_TRUE(torch::equal(hflip(hflip(images)), images));
  EXPECT_FALSE(torch::equal(hflip(images), images));
  EXPECT_EQ(hflip(images)[3][0][2][0].item<float>(), images[3][0][2][6].item<float>());
  auto gen = make_generator(9);
  EXPECT_TRUE(torch::equal(random_hflip(images, 1.0, gen), hflip(images)));
  EXPECT_TRUE(torch::equal(random_hflip(images, 0.0, gen), images));
  const torch::Tensor mixed = random_hflip(images, 0.5, gen);
  int flipped = 0;
  for (int64_t i = 0; i < 32; ++i) {
    const bool same = torch::equal(mixed[i], images[i]);
    EXPECT_TRUE(same || torch::equal(mixed[i], hflip(images[i])));
    flipped += !same;
  }
  EXPECT_GT(flipped, 4);
  EXPECT_LT(flipped, 28);
}

TEST(Transforms, RandomCropShiftsExactlyAndIsSeeded) {
  const torch::Tensor images =
      torch::arange(1, 1 + 8 * 2 * 6 * 6, torch::kFloat32).reshape({8, 2, 6, 6});
  auto g1 = make_generator(5);
  auto g2 = make_generator(5);
  const torch::Tensor a = random_crop(images, 2, g1);
  EXPECT_TRUE(torch::equal(a, random_crop(images, 2, g2)));
  ASSERT_EQ(a.sizes(), images.sizes());
  // Each output is the input shifted by one (dy, dx) in [-2, 2], zeros where it came from padding.
  for (int64_t i = 0; i < 8; ++i) {
    bool found = false;
    for (int64_t dy = -2; dy <= 2 && !found; ++dy) {
      for (int64_t dx = -2; dx <= 2 && !found; ++dx) {
        torch::Tensor expect = torch::zeros({2, 6, 6});
        for (int64_t y = 0; y < 6; ++y) {
          for (int64_t x = 0; x < 6; ++x) {
            const int64_t sy = y + dy, sx = x + dx;
            if (sy >= 0 && sy < 6 && sx >= 0 && sx < 6) {
              expect.index_put_({torch::indexing::Slice(), y, x},
                                images[i].index({torch::indexing::Slice(), sy, sx}));
            }
          }
        }
        found = torch::equal(a[i], expect);
      }
    }
    EXPECT_TRUE(found) << "image " << i;
  }
}

TEST(Transforms, CropAndAffineBringInTheFillPerChannel) {
  const torch::Tensor images = torch::zeros({6, 2, 8, 8});
  const std::vector<double> fill = {-1.5, 7.0};
  auto g1 = make_generator(4);
  const torch::Tensor cropped = random_crop(images, 3, g1, fill);
  // Every pixel is the image's 0 or its channel's fill, exactly; some images got fill.
  EXPECT_TRUE(torch::logical_or(cropped.select(1, 0) == 0, cropped.select(1, 0) == -1.5)
                  .all()
                  .item<bool>());
  EXPECT_TRUE(
      torch::logical_or(cropped.select(1, 1) == 0, cropped.select(1, 1) == 7.0).all().item<bool>());
  EXPECT_GT((cropped.select(1, 1) == 7.0).sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(cropped.select(1, 0) == -1.5, cropped.select(1, 1) == 7.0));
  // Zoomed out to half size, the corners come from outside the image: the fill, per channel.
  AffineOptions half;
  half.max_rotation_deg = 0;
  half.max_translate = 0;
  half.min_scale = 0.5;
  half.max_scale = 0.5;
  auto g2 = make_generator(5);
  const torch::Tensor zoomed = random_affine(images, half, g2, fill);
  EXPECT_FLOAT_EQ(zoomed.index({0, 0, 0, 0}).item<float>(), -1.5f);
  EXPECT_FLOAT_EQ(zoomed.index({3, 1, 7, 7}).item<float>(), 7.0f);
  EXPECT_FLOAT_EQ(zoomed.index({2, 1, 4, 4}).item<float>(), 0.0f);  // the centre is the image's
  auto g3 = make_generator(5);
  EXPECT_FLOAT_EQ(random_affine(images + 1, half, g3).index({0, 0, 0, 0}).item<float>(), 0.0f);
  auto g4 = make_generator(6);
  EXPECT_THROW(random_crop(images, 1, g4, {1.0, 2.0, 3.0}), std::invalid_argument);
}

TEST(Transforms, AffineIdentityRangesKeepImageAndRandomIsSeeded) {
  torch::manual_seed(6);
  const torch::Tensor images = torch::rand({4, 1, 16, 16});
  auto gen = make_generator(1);
  AffineOptions none;
  none.max_rotation_deg = 0;
  none.max_translate = 0;
  none.min_scale = 1;
  none.max_scale = 1;
  EXPECT_TRUE(torch::allclose(random_affine(images, none, gen), images, 1e-5, 1e-5));
  auto g1 = make_generator(2);
  auto g2 = make_generator(2);
  const torch::Tensor a = random_affine(images, AffineOptions{}, g1);
  EXPECT_TRUE(torch::equal(a, random_affine(images, AffineOptions{}, g2)));
  EXPECT_FALSE(torch::allclose(a, images, 1e-3, 1e-3));
  AugmentOptions all;
  all.crop_padding = 2;
  all.flip_probability = 0.5;
  all.affine = true;
  auto g3 = make_generator(3);
  EXPECT_EQ(augment(images, all, g3).sizes(), images.sizes());
}

}  // namespace
}  // namespace lowbit::data
