// Sequence models of the integer model (issue 15): the integer LIF step, the time sum and the
// decoder ops of the reference executor against hand-worked values, the rules validate() holds a
// sequence model to, and the generated C's streaming API (reset_state, step, finish) against its
// whole-sequence predict and the reference, with the state struct the size model_cost gives.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "export/random_models.h"
#include "lowbit/export/activity.h"
#include "lowbit/export/c/codegen.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/export/reference_executor.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::exporter {
namespace {

namespace fs = std::filesystem;

Lif one_neuron(int32_t threshold, int leak_shift, LifReset reset, bool delay, int bits = 16) {
  Lif lif;
  lif.channels = 1;
  lif.plane = 1;
  lif.threshold = {threshold};
  lif.leak_shift = leak_shift;
  if (leak_shift == 0) lif.beta_q15 = {16384};
  lif.reset = reset;
  lif.reset_delay = delay;
  lif.membrane_bits = bits;
  return lif;
}

// Spikes and membranes of one neuron driven by `currents`.
std::pair<std::vector<int>, std::vector<int64_t>> drive(const Lif& lif,
                                                        const std::vector<int32_t>& currents) {
  int64_t membrane = 0;
  uint8_t reset = 0;
  std::vector<int> spikes;
  std::vector<int64_t> membranes;
  for (int32_t current : currents) {
    spikes.push_back(reference_lif_step(current, lif, 0, membrane, reset));
    membranes.push_back(membrane);
  }
  return {spikes, membranes};
}

TEST(ReferenceLif, SubtractResetLandsAtTheNextStep) {
  // beta 0.5 by shift: 8; 4 + 8 = 12 > 10 fires; 6 + 8 - 10 = 4; 2 + 0 = 2.
  const auto [spikes, membranes] =
      drive(one_neuron(10, 1, LifReset::kSubtract, true), {8, 8, 8, 0});
  EXPECT_EQ(spikes, (std::vector<int>{0, 1, 0, 0}));
  EXPECT_EQ(membranes, (std::vector<int64_t>{8, 12, 4, 2}));
}

TEST(ReferenceLif, ZeroResetWithoutDelayEmptiesTheMembraneAtOnce) {
  const auto [spikes, membranes] = drive(one_neuron(10, 1, LifReset::kZero, false), {12, 6, 6, 6});
  // 12 fires and empties; 6; 6 - 3 + 6 = 9; 9 - 4 + 6 = 11 fires and empties.
  EXPECT_EQ(spikes, (std::vector<int>{1, 0, 0, 1}));
  EXPECT_EQ(membranes, (std::vector<int64_t>{0, 6, 9, 0}));
}

TEST(ReferenceLif, LeaksFloorNegativeMembranesAlikeByShiftAndByMultiply) {
  // leak(-3) with beta 0.5: -3 - floor(-3 / 2) = -1 and floor((-3 * 16384 + 16384) / 32768) = -1.
  for (int shift : {1, 0}) {
    const auto [spikes, membranes] = drive(one_neuron(10, shift, LifReset::kNone, true), {-3, 0});
    EXPECT_EQ(membranes, (std::vector<int64_t>{-3, -1})) << "leak_shift " << shift;
  }
}

TEST(ReferenceLif, MembranesSaturateAtTheirType) {
  Lif lif = one_neuron(32767, 15, LifReset::kNone, true, 16);
  std::vector<int32_t> push(400, 127);
  auto [spikes16, m16] = drive(lif, push);
  EXPECT_EQ(m16.back(), 32767);
  lif.membrane_bits = 32;
  lif.threshold = {std::numeric_limits<int32_t>::max()};
  auto [spikes32, m32] = drive(lif, push);
  EXPECT_GT(m32.back(), 32767);
  std::vector<int32_t> pull(400, -128);
  lif.membrane_bits = 16;
  auto [spikes_low, m_low] = drive(lif, pull);
  EXPECT_EQ(m_low.back(), -32768);
}

TEST(ReferenceLeakyRelu, ScalesOnlyBelowTheZeroPoint) {
  EXPECT_EQ(reference_leaky_relu(20, 5, 3277), 20);
  EXPECT_EQ(reference_leaky_relu(5, 5, 3277), 5);
  // (-100 - 5) * 0.1 = -10.5 rounds away from zero to -11 (3277 / 32768 is a hair above 0.1).
  EXPECT_EQ(reference_leaky_relu(-100, 5, 3277), 5 - 11);
  EXPECT_EQ(reference_leaky_relu(-128, 127, 32767), -128);
}

// input (1 frame of 1x1x2, zp 0) -> conv 1x1 (weight 1) current -> LIF -> time sum -> dense.
IntegerModel tiny_sequence(int64_t steps) {
  IntegerModel model;
  model.name = "tiny";
  model.input_shape = {1, 1, 2};
  model.time_steps = steps;
  Conv2d conv;
  conv.in_channels = conv.out_channels = 1;
  conv.in_height = 1;
  conv.in_width = 2;
  conv.weights = {1};
  conv.requant = {{1 << 30}, {1}, -128, 127};
  model.layers.push_back({"conv", {kModelInput}, conv, 1.0, 0});
  Lif lif = one_neuron(10, 1, LifReset::kSubtract, true);
  lif.plane = 2;
  model.layers.push_back({"lif", {0}, lif, 1.0, 0});
  model.layers.push_back({"rate", {1}, TimeSum{}, 1.0 / static_cast<double>(steps), 0});
  FullyConnected fc;
  fc.in_features = 2;
  fc.out_features = 1;
  fc.weights = {1, 2};
  fc.requant = {{1 << 30}, {1}, -128, 127};
  model.layers.push_back({"fc", {2}, fc, 1.0, 0});
  return model;
}

TEST(ReferenceSequence, RunsPerStepLayersOnEveryFrameThenTheRestOnce) {
  const IntegerModel model = tiny_sequence(4);
  EXPECT_EQ(per_step_layers(model), (std::vector<bool>{true, true, true, false}));
  const ReferenceExecutor reference(model);
  EXPECT_EQ(reference.input_size(), 8);
  // Neuron 0 sees 8 every step: 8, 12 (spike), 6 + 8 - 10 = 4, 2 + 8 = 10 (not above): 1 spike.
  // Neuron 1 sees 11: 11 (spike), 6 + 11 - 10 = 7, 4 + 11 = 15 (spike), 8 + 11 - 10 = 9: 2.
  const std::vector<int8_t> input = {8, 11, 8, 11, 8, 11, 8, 11};
  const std::vector<int8_t> out = reference.run(input);
  // counts (1, 2) -> fc 1 * 1 + 2 * 2 = 5.
  EXPECT_EQ(out, (std::vector<int8_t>{5}));
  // Each sample starts from rest: the same input twice gives the same output twice.
  std::vector<int8_t> twice = input;
  twice.insert(twice.end(), input.begin(), input.end());
  EXPECT_EQ(reference.run_batch(twice, 2), (std::vector<int8_t>{5, 5}));
}

TEST(SequenceActivity, CountsSpikeRatesAndMacsWithNonZeroInputs) {
  const IntegerModel model = tiny_sequence(4);
  // Two samples: the one above (1 + 2 spikes in 8 neuron-steps) and a silent one (input 0, no
  // current, no spike, no synaptic operation).
  std::vector<int8_t> inputs = {8, 11, 8, 11, 8, 11, 8, 11};
  inputs.resize(16, 0);
  const SequenceActivity activity = measure_activity(model, inputs, 2);
  ASSERT_EQ(activity.spike_rates.size(), 1u);
  EXPECT_EQ(activity.spike_rates[0].layer, "lif");
  EXPECT_DOUBLE_EQ(activity.spike_rates[0].rate, 3.0 / 16.0);
  // The 1x1 conv does 2 MACs per step; the first sample's inputs are all non-zero, the second's
  // all zero.
  EXPECT_EQ(activity.macs_per_step, 2);
  EXPECT_DOUBLE_EQ(activity.synaptic_ops_per_step, 1.0);
  EXPECT_THROW(measure_activity(model, inputs, 3), std::invalid_argument);
  IntegerModel plain = testing::random_cnn(WeightFormat::kInt8, 1);
  EXPECT_THROW(measure_activity(plain, std::vector<int8_t>(297), 1), std::invalid_argument);
}

TEST(SequenceValidation, RejectsStateOutsideASequenceAndLayersOutOfOrder) {
  IntegerModel plain = tiny_sequence(4);
  plain.time_steps = 0;
  EXPECT_THROW(validate(plain), std::invalid_argument);

  IntegerModel wrong_scale = tiny_sequence(4);
  wrong_scale.layers[2].output_scale = 0.5;
  EXPECT_THROW(validate(wrong_scale), std::invalid_argument);

  IntegerModel last_per_step = tiny_sequence(4);
  last_per_step.layers.pop_back();
  EXPECT_THROW(validate(last_per_step), std::invalid_argument);

  IntegerModel bad_threshold = tiny_sequence(4);
  std::get<Lif>(bad_threshold.layers[1].op).threshold = {0};
  EXPECT_THROW(validate(bad_threshold), std::invalid_argument);

  IntegerModel bad_bits = tiny_sequence(4);
  std::get<Lif>(bad_bits.layers[1].op).membrane_bits = 8;
  try {
    validate(bad_bits);
    FAIL() << "membrane_bits 8 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'lif'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("membrane_bits"), std::string::npos) << e.what();
  }

  // A per-step layer (it reads the spikes) may not read a time sum, which is complete only
  // after the last step.
  IntegerModel early_read = tiny_sequence(4);
  Add mix;
  early_read.layers.insert(early_read.layers.begin() + 3, Layer{"mix", {1, 2}, mix, 1.0, 0});
  early_read.layers[4].inputs = {2};
  try {
    validate(early_read);
    FAIL() << "a per-step read of a time sum was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("reads the time sum 'rate'"), std::string::npos)
        << e.what();
  }
}

TEST(SequenceCost, CountsMacsPerStepAndTheStateStruct) {
  const IntegerModel model = testing::random_spiking(WeightFormat::kInt8, 3);
  const ModelCost cost = model_cost(model);
  EXPECT_EQ(cost.time_steps, 4);
  EXPECT_GT(cost.macs_per_step, 0);
  int64_t once = 0;
  int64_t state = 0;
  for (const LayerCost& layer : cost.layers) {
    if (!layer.per_step) once += layer.macs;
    state += layer.state_bytes;
  }
  EXPECT_EQ(cost.macs, 4 * cost.macs_per_step + once);
  // enc1: 180 int16 membranes + 180 resets; enc2: 72 int32, no resets; res: 72 int16 + 72;
  // sums: 180 + 72 bytes.
  EXPECT_EQ(state, 180 * 3 + 72 * 4 + 72 * 3 + 180 + 72);
  EXPECT_EQ(cost.state_struct_bytes, (state + 3) / 4 * 4);
  EXPECT_EQ(cost.input_bytes, 4 * 2 * 9 * 11);
}

// The generated C of a sequence model: predict (whole sequence), and reset_state + step per frame
// + finish, give the reference's outputs; sizeof(state) is what model_cost says.
TEST(SequenceCodegen, StreamingApiEqualsPredictAndTheReference) {
  const IntegerModel model = testing::random_spiking(WeightFormat::kInt4, 17);
  const fs::path dir =
      fs::temp_directory_path() / ("lowbit_sequence_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  CodegenOptions options;
  options.prefix = "snn";
  options.provenance = {"runs/test", "spiking", "abc", "2026-12-06"};
  export_model(model, (dir / "export").string(), options);
  const ReferenceExecutor reference(model);
  const int64_t samples = 6;
  const std::vector<int8_t> inputs = testing::random_inputs(reference.input_size(), samples, 5);
  const std::vector<int8_t> expected = reference.run_batch(inputs, samples + 2);
  std::ostringstream main;
  main << "#include <stdio.h>\n#include \"model.h\"\nstatic const int8_t inputs[] = {";
  for (int8_t v : inputs) main << static_cast<int>(v) << ",";
  main << "};\nstatic unsigned char scratch[SNN_SCRATCH_SIZE + 1];\n"
       << "static unsigned char step_scratch[SNN_STEP_SCRATCH_SIZE];\n"
       << "int main(void) {\n  snn_state_t state;\n  int8_t a[SNN_OUTPUT_SIZE], "
          "b[SNN_OUTPUT_SIZE];\n"
       << "  int s, t, i;\n  printf(\"state %u\\n\", (unsigned)sizeof(snn_state_t));\n"
       << "  for (s = 0; s < " << samples + 2 << "; ++s) {\n"
       << "    const int8_t* x = inputs + s * SNN_INPUT_SIZE;\n"
       << "    if (snn_predict(x, a, scratch + 1) != LOWBIT_OK) return 2;\n"
       << "    snn_reset_state(&state);\n"
       << "    for (t = 0; t < SNN_TIME_STEPS; ++t)\n"
       << "      if (snn_step(x + t * SNN_FRAME_SIZE, &state, step_scratch) != LOWBIT_OK) return "
          "3;\n"
       << "    if (snn_finish(&state, b, step_scratch) != LOWBIT_OK) return 4;\n"
       << "    for (i = 0; i < SNN_OUTPUT_SIZE; ++i) {\n"
       << "      if (a[i] != b[i]) return 5;\n      printf(\"%d\\n\", a[i]);\n    }\n  }\n"
       << "  return 0;\n}\n";
  util::write_text_atomically((dir / "export" / "main.c").string(), main.str());
  // scratch + 1: predict aligns the state itself (the buffer has the byte to spare).
  const std::string e = (dir / "export").string();
  const std::string build = "cc -std=c99 -O1 -Wall -Wextra -Werror -I" + e + " -I" + e +
                            "/runtime/include " + e + "/model.c " + e + "/runtime/src/*.c " + e +
                            "/main.c -o " + (dir / "prog").string() + " 2> " +
                            (dir / "cc.log").string();
  ASSERT_EQ(std::system(build.c_str()), 0) << util::read_file((dir / "cc.log").string());
  const std::string run = (dir / "prog").string() + " > " + (dir / "out.txt").string();
  ASSERT_EQ(std::system(run.c_str()), 0);
  std::ifstream out(dir / "out.txt");
  std::string word;
  int64_t state_bytes = 0;
  out >> word >> state_bytes;
  EXPECT_EQ(state_bytes, model_cost(model).state_struct_bytes);
  std::vector<int8_t> got;
  int value = 0;
  while (out >> value) got.push_back(static_cast<int8_t>(value));
  EXPECT_EQ(got, expected);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lowbit::exporter
