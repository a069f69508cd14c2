#include "lowbit/export/provenance.h"

namespace lowbit::exporter {

nlohmann::json provenance_json(const Provenance& provenance) {
  return {{"source_run", provenance.source_run},
          {"stage", provenance.stage},
          {"config_hash", provenance.config_hash},
          {"date", provenance.date}};
}

}  // namespace lowbit::exporter
