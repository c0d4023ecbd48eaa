// spanflow: the probe's entry point. Parses options, installs the shutdown signals and runs.
#include <fmt/format.h>
#include <signal.h>

#include <atomic>

#include "probe/app/probe_config.hpp"
#include "probe/app/replay.hpp"

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) {
    g_stop.store(true, std::memory_order_relaxed);
}
}  // namespace

int main(int argc, char** argv) {
    spanflow::ProbeConfig config;
    std::string message;
    switch (spanflow::parse_command_line(argc, argv, config, message)) {
        case spanflow::CliOutcome::exit_ok:
            return 0;
        case spanflow::CliOutcome::exit_usage:
            fmt::print(stderr, "spanflow: {}\n", message);
            return 2;
        case spanflow::CliOutcome::run:
            break;
    }
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return spanflow::run_replay(config, g_stop);
}
