// `orderflow`: the command-line entry point.
#include <CLI/CLI.hpp>

#ifdef ORDERFLOW_PRODUCTION
#include "cli/demo.h"
#include "cli/serve.h"
#endif
#include "cli/sim.h"
#include "cli/walkthrough.h"

int main(int argc, char** argv) {
  CLI::App app{"orderflow: event-sourced order processing on Kafka, and its simulator"};
  app.require_subcommand(1);

  auto* walkthrough = app.add_subcommand(
      "walkthrough", "Place, confirm, ship, deliver and cancel orders through the deciders");
  orderflow::cli::WalkthroughOptions options;
  walkthrough->add_option("--orders", options.orders, "Orders to place")
      ->check(CLI::Range(1, 1000));
  walkthrough->add_option("--seed", options.seed, "Seed for the choice of outcomes");

  orderflow::cli::SimOptions sim_options;
  CLI::App* sim = orderflow::cli::add_sim_commands(app, sim_options);

#ifdef ORDERFLOW_PRODUCTION
  orderflow::cli::ServeOptions serve_options;
  const auto serve = orderflow::cli::add_serve_commands(app, serve_options);
  orderflow::cli::DemoOptions demo_options;
  CLI::App* demo = orderflow::cli::add_demo_command(app, demo_options);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; any other bad usage exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*walkthrough) return orderflow::cli::run_walkthrough(options);
  if (*sim) return orderflow::cli::run_sim_command(*sim, sim_options);
#ifdef ORDERFLOW_PRODUCTION
  if (*serve.serve) return orderflow::cli::run_serve(serve_options);
  if (*serve.dev_cluster) return orderflow::cli::run_dev_cluster(serve_options);
  if (*demo) return orderflow::cli::run_demo(demo_options);
#endif
  return 2;
}
