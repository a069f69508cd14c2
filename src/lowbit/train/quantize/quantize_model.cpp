#include "lowbit/train/quantize/quantize_model.h"

#include <fnmatch.h>

#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "lowbit/nn/leaky.h"
#include "lowbit/nn/quantized_layer.h"
#include "lowbit/train/quantize/batch_norm_fold.h"

namespace lowbit::train {
namespace {

bool glob_match(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

// Every quantizer slot of every quantizable layer, in module order.
std::vector<QuantizerSlot> all_slots(torch::nn::Module& model) {
  std::vector<QuantizerSlot> slots;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto layer = std::dynamic_pointer_cast<nn::QuantizedLayer>(item.value());
    if (!layer) continue;
    for (const nn::SlotRole& s : layer->slot_roles()) {
      const nn::QuantSlot slot = s.slot;
      slots.push_back(
          {item.key(), s.role, [layer, slot] { return layer->quantizer(slot); },
           [layer, slot](const std::string& spec) { layer->set_quantizer(slot, spec); }});
    }
  }
  return slots;
}

const std::string& spec_of(const LayerSpecs& specs, const std::string& role) {
  if (role == "weights") return specs.weights;
  if (role == "biases") return specs.biases;
  if (role == "inputs") return specs.inputs;
  if (role == "outputs") return specs.outputs;
  return specs.activations;
}

// Every nn::Leaky of the model with its dotted name, in module order.
std::vector<std::pair<std::string, std::shared_ptr<nn::LeakyImpl>>> leaky_layers(
    torch::nn::Module& model) {
  std::vector<std::pair<std::string, std::shared_ptr<nn::LeakyImpl>>> found;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (auto leaky = std::dynamic_pointer_cast<nn::LeakyImpl>(item.value())) {
      found.emplace_back(item.key(), leaky);
    }
  }
  return found;
}

}  // namespace

LayerSpecs resolve_layer_specs(const QuantizationConfig& config, const std::string& layer) {
  LayerSpecs specs{config.weights, config.biases,      config.inputs,
                   config.outputs, config.activations, config.state};
  for (const auto& o : config.layers) {
    if (!glob_match(o.pattern, layer)) continue;
    if (o.weights) specs.weights = *o.weights;
    if (o.biases) specs.biases = *o.biases;
    if (o.inputs) specs.inputs = *o.inputs;
    if (o.outputs) specs.outputs = *o.outputs;
    if (o.activations) specs.activations = *o.activations;
    if (o.state) specs.state = *o.state;
  }
  return specs;
}

std::string QuantizationReport::text() const {
  std::ostringstream out;
  for (const auto& l : layers) {
    out << "  " << l.layer << " (" << l.kind << "):";
    bool any = false;
    auto put = [&](const char* role, const std::string& spec) {
      if (spec.empty()) return;
      out << " " << role << "=" << spec;
      any = true;
    };
    put("weights", l.specs.weights);
    put("biases", l.specs.biases);
    put("inputs", l.specs.inputs);
    put("outputs", l.specs.outputs);
    put("activations", l.specs.activations);
    if (l.specs.state > 0) put("state", std::to_string(l.specs.state) + " bits");
    if (!any) out << " fp";
    out << "\n";
  }
  for (const auto& p : unmatched_patterns) {
    out << "  warning: quantization override '" << p << "' matches no layer\n";
  }
  return out.str();
}

QuantizationReport quantize_model(torch::nn::Module& model, const QuantizationConfig& config) {
  QuantizationReport report;
  std::map<std::string, size_t> index;
  for (auto& slot : all_slots(model)) {
    auto [it, added] = index.emplace(slot.layer, report.layers.size());
    if (added) {
      LayerQuantization entry;
      entry.layer = slot.layer;
      report.layers.push_back(entry);
    }
    LayerQuantization& entry = report.layers[it->second];
    const LayerSpecs specs = resolve_layer_specs(config, slot.layer);
    const std::string& spec = spec_of(specs, slot.role);
    slot.set(spec);
    if (slot.role == "weights") entry.specs.weights = spec;
    if (slot.role == "biases") entry.specs.biases = spec;
    if (slot.role == "inputs") entry.specs.inputs = spec;
    if (slot.role == "outputs") entry.specs.outputs = spec;
    if (slot.role == "activations") entry.specs.activations = spec;
  }
  for (const auto& item : model.named_modules("", false)) {
    auto found = index.find(item.key());
    if (found == index.end()) continue;
    report.layers[found->second].kind = item.value()->as<nn::QuantizedLayer>()->kind();
  }
  for (const auto& [name, leaky] : leaky_layers(model)) {
    const int bits = resolve_layer_specs(config, name).state;
    leaky->set_state_quant_bits(bits);
    if (bits == 0) continue;
    LayerQuantization entry;
    entry.layer = name;
    entry.kind = "Leaky";
    entry.specs.state = bits;
    report.layers.push_back(entry);
  }
  const auto leaky = leaky_layers(model);
  for (const auto& o : config.layers) {
    bool matched = false;
    for (const auto& l : report.layers) matched = matched || glob_match(o.pattern, l.layer);
    for (const auto& l : leaky) matched = matched || glob_match(o.pattern, l.first);
    if (!matched) report.unmatched_patterns.push_back(o.pattern);
  }
  return report;
}

std::vector<QuantizerSlot> find_quantizer_slots(torch::nn::Module& model, const std::string& layers,
                                                const std::string& role) {
  std::vector<QuantizerSlot> found;
  for (auto& slot : all_slots(model)) {
    if (!glob_match(layers, slot.layer)) continue;
    if (role != "all" && role != slot.role) continue;
    found.push_back(std::move(slot));
  }
  return found;
}

std::string apply_quantizer_event(torch::nn::Module& model, const EpochEvent& event) {
  if (event.action == EventAction::kFoldBatchNorm) {
    const std::vector<std::string> folded = fold_batch_norms(model, event.layers);
    std::string names;
    for (const std::string& name : folded) names += (names.empty() ? "" : ", ") + name;
    return "folded " + std::to_string(folded.size()) + " batch norm(s) of layers '" + event.layers +
           "' into the layers before them" + (names.empty() ? std::string() : " (" + names + ")");
  }
  std::vector<QuantizerSlot> slots = find_quantizer_slots(model, event.layers, event.role);
  int changed = 0;
  std::string what;
  if (event.action == EventAction::kSetBits && (event.role == "state" || event.role == "all")) {
    for (const auto& [name, leaky] : leaky_layers(model)) {
      if (!glob_match(event.layers, name)) continue;
      if (event.role == "all" && leaky->options.state_quant_bits() == 0) continue;
      leaky->set_state_quant_bits(event.bits);
      what = "set " + std::to_string(event.bits) + " bits on";
      ++changed;
    }
  }
  for (auto& slot : slots) {
    quant::Quantizer q = slot.get();
    switch (event.action) {
      case EventAction::kSetBits:
        if (!q) continue;
        q->set_bits(event.bits);
        what = "set " + std::to_string(event.bits) + " bits on";
        break;
      case EventAction::kSwitchQuantizer:
        // `role: all` switches only slots that hold a quantizer, so a weight SPEC
        // is never put on a layer's input or output by accident.
        if (!q && event.role == "all") continue;
        slot.set(event.spec);
        what = "switched to '" + (event.spec.empty() ? std::string("none") : event.spec) + "'";
        break;
      case EventAction::kFreeze:
      case EventAction::kUnfreeze:
        if (!q) continue;
        q->set_frozen(event.action == EventAction::kFreeze);
        what = event.action == EventAction::kFreeze ? "froze" : "unfroze";
        break;
      case EventAction::kSetLr:
      case EventAction::kFoldBatchNorm:
        throw std::invalid_argument("set_lr is not a quantizer event");
    }
    ++changed;
  }
  if (changed == 0) {
    throw std::invalid_argument("event '" + event_action_names()[static_cast<int>(event.action)] +
                                "' at epoch " + std::to_string(event.at) + ": layers '" +
                                event.layers + "' role '" + event.role + "' match no quantizer");
  }
  return what + " " + std::to_string(changed) + " quantizer(s) of layers '" + event.layers + "' (" +
         event.role + ")";
}

int64_t weight_bytes(torch::nn::Module& model) {
  int64_t bits = 0;
  std::set<const void*> counted;
  auto add = [&](const torch::Tensor& t, const quant::Quantizer& q) {
    if (!t.defined()) return;
    counted.insert(t.unsafeGetTensorImpl());
    bits += t.numel() * (q ? q->bits() : 32);
  };
  for (const auto& item : model.named_modules("", false)) {
    if (auto* layer = item.value()->as<nn::QuantizedLayer>()) {
      add(layer->weight_tensor(), layer->weight_quant());
      add(layer->bias_tensor(), layer->bias_quant());
    }
  }
  for (const auto& p : model.parameters(true)) {
    if (counted.count(p.unsafeGetTensorImpl()) == 0) bits += p.numel() * 32;
  }
  return (bits + 7) / 8;
}

std::string bits_summary(torch::nn::Module& model) {
  std::set<int> weight_bits, activation_bits;
  for (auto& slot : all_slots(model)) {
    quant::Quantizer q = slot.get();
    if (!q) continue;
    (slot.role == "weights"  ? weight_bits
     : slot.role == "biases" ? weight_bits
                             : activation_bits)
        .insert(q->bits());
  }
  auto join = [](const char* prefix, const std::set<int>& bits) {
    std::string text;
    for (int b : bits) text += (text.empty() ? prefix : "/") + std::to_string(b);
    return text;
  };
  std::set<int> state_bits;
  for (const auto& l : leaky_layers(model)) {
    if (l.second->options.state_quant_bits() > 0)
      state_bits.insert(l.second->options.state_quant_bits());
  }
  std::string w = join("w", weight_bits), a = join("a", activation_bits);
  const std::string s = join("s", state_bits);
  if (w.empty() && a.empty() && s.empty()) return "fp";
  if (w.empty()) w = "wfp";
  if (a.empty()) a = "afp";
  return w + " " + a + (s.empty() ? "" : " " + s);
}

}  // namespace lowbit::train
