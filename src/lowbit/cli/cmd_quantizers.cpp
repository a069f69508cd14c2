// `lowbit quantizers`: lists the registry, as text or as the markdown of docs/quantizers.md.
#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "lowbit/cli/commands.h"
#include "lowbit/quant/registry.h"

namespace lowbit::cli {
namespace {

std::string roles_text(const quant::QuantizerType& type) {
  std::string s;
  for (const auto role : type.roles) s += (s.empty() ? "" : ", ") + quant::role_name(role);
  return s;
}

std::string default_text(const quant::ParamInfo& p) {
  return p.default_value.empty() ? "(required)" : p.default_value;
}

// A '|' inside a cell would end the cell.
std::string cell(const std::string& text) {
  std::string s;
  for (const char c : text) s += c == '|' ? std::string("\\|") : std::string(1, c);
  return s;
}

std::string plain_listing() {
  const auto& types = quant::quantizer_types();
  if (types.empty()) return "No quantizer types are registered.\n";
  std::ostringstream out;
  for (const auto& type : types) {
    out << type.name << ": " << type.description << "\n";
    out << "  roles: " << roles_text(type) << "\n";
    if (type.params.empty()) out << "  parameters: none\n";
    size_t width = 0;
    for (const auto& p : type.params) {
      width = std::max(width, p.name.size() + 1 + default_text(p).size());
    }
    for (const auto& p : type.params) {
      const std::string head = p.name + "=" + default_text(p);
      out << "  " << head << std::string(width - head.size() + 2, ' ') << p.description << "\n";
    }
  }
  return out.str();
}

std::string markdown_listing() {
  const auto& types = quant::quantizer_types();
  if (types.empty()) return "No quantizer types are registered.\n";
  std::ostringstream out;
  bool first = true;
  for (const auto& type : types) {
    if (!first) out << "\n";
    first = false;
    out << "### `" << type.name << "`\n\n" << type.description << "\n\n";
    out << "Roles: " << roles_text(type) << ".\n\n";
    if (type.params.empty()) {
      out << "No parameters.\n";
      continue;
    }
    out << "| parameter | default | description |\n| --- | --- | --- |\n";
    for (const auto& p : type.params) {
      out << "| `" << p.name << "` | " << cell(default_text(p)) << " | " << cell(p.description)
          << " |\n";
    }
  }
  return out.str();
}

}  // namespace

void add_quantizers_command(CLI::App& app) {
  auto markdown = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "quantizers", "List every quantizer type: roles, parameters with defaults, description");
  cmd->add_flag("--markdown", *markdown,
                "Print the reference section of docs/quantizers.md instead of plain text");
  cmd->callback([markdown] { std::cout << (*markdown ? markdown_listing() : plain_listing()); });
}

}  // namespace lowbit::cli
