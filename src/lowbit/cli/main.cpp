// The `lowbit` program: one binary, one subcommand per task.
// Exit codes: 0 success, 1 an error while running a command, 2 a usage error.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "lowbit/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"lowbit: train 1- to 8-bit neural networks and turn them into integer-only C"};
  app.set_version_flag("--version", std::string("lowbit ") + LOWBIT_VERSION);
  app.require_subcommand(0, 1);
  lowbit::cli::add_quantizers_command(app);
  lowbit::cli::add_quantize_command(app);
  lowbit::cli::add_survey_command(app);
  lowbit::cli::add_train_command(app);
  lowbit::cli::add_export_command(app);
  lowbit::cli::add_verify_command(app);
  lowbit::cli::add_size_command(app);
  lowbit::cli::add_report_command(app);
  lowbit::cli::add_compare_command(app);
  lowbit::cli::add_quant_info_command(app);
  lowbit::cli::add_flow_image_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive as "errors" with exit code 0.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "lowbit: error: " << e.what() << "\nRun 'lowbit --help' for usage.\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "lowbit: error: " << e.what() << "\n";
    return 1;
  }
  if (app.get_subcommands().empty()) std::cout << app.help();
  return 0;
}
