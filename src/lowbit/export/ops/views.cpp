#include "lowbit/export/ops/views.h"

#include "lowbit/export/model_cost.h"
#include "lowbit/export/ops/op_support.h"

namespace lowbit::exporter {

void ViewTraits::no_output(const CostContext&, LayerCost& cost) {
  cost.output_bytes = 0;
}

bool ViewTraits::emit_view(const CEmitContext& c) {
  c.body << "  /* A view of its input: no code. */\n\n";
  return false;
}

Shape OpTraits<Flatten>::output_shape(const ValidateContext& c, const Flatten&) {
  return {c.in[0].size(), 1, 1};
}

void OpTraits<Flatten>::run(const RunContext& c, const Flatten&) {
  c.out = c.x();
}

Shape OpTraits<Slice>::output_shape(const ValidateContext& c, const Slice& slice) {
  if (slice.offset < 0 || slice.length < 1 || slice.offset + slice.length > c.in[0].size()) {
    ops::shape_mismatch(c.model, c.layer, c.producer, c.in[0],
                        "at least " + std::to_string(slice.offset + slice.length) +
                            " elements for slice [" + std::to_string(slice.offset) + ", " +
                            std::to_string(slice.offset + slice.length) + ")");
  }
  return {slice.length, 1, 1};
}

void OpTraits<Slice>::run(const RunContext& c, const Slice& slice) {
  c.out.assign(c.x().begin() + slice.offset, c.x().begin() + slice.offset + slice.length);
}

void OpTraits<Slice>::describe(const JsonContext&, const Slice& slice, nlohmann::json& j) {
  j["offset"] = slice.offset;
  j["length"] = slice.length;
}

}  // namespace lowbit::exporter
