// spanflow: the probe's entry point. Parses options and runs (probe/app/run.hpp), which takes the
// signals on this thread.
#include <fmt/format.h>

#include <csignal>

#include "probe/app/probe_config.hpp"
#include "probe/app/run.hpp"

int main(int argc, char** argv) {
    // A reader of `-w -` that goes away is a write error the JSON writer counts and says in one
    // line, while flows still go to the collectors; not a silent death by SIGPIPE.
    (void)std::signal(SIGPIPE, SIG_IGN);
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
    return spanflow::run_probe(config);
}
