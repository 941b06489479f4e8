// `orderflow demo`: the whole system for real, in one process, judged by the
// simulator's checkers.
//
//   orderflow demo --seconds 20 --rate 20
//
// An embedded Kafka cluster; orders, shipping and query as three separate
// `ServiceHost`s, each with its own loop thread and HTTP port; simulated customers
// placing orders (and cancelling some) over real HTTP at `rate` per second for
// `seconds`. Then it waits (at most 30 s) until every order is delivered or
// cancelled in the query service, reads back the committed event logs and runs
// `sim::check_recorded_logs` on them. A progress line goes to stderr each second;
// the summary to stdout.
//
// Exit codes: 0 when the checkers pass and every order finished, 1 otherwise.
#pragma once

namespace CLI {
class App;
}

namespace orderflow::cli {

struct DemoOptions {
  int seconds = 20;
  double rate = 20;
  int relay = 0;  // records for the raw librdkafka relay measured afterwards; 0: none
};

CLI::App* add_demo_command(CLI::App& app, DemoOptions& options);
int run_demo(const DemoOptions& options);

}  // namespace orderflow::cli
