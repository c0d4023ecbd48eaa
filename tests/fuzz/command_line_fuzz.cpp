// spanflow's command line on any arguments: the input split at NUL bytes is argv after the program
// name. No crash; a refusal is one line, and an accepted command line is one the program can run
// (a replay or live capture, with the limits the options state).
#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "probe/app/probe_config.hpp"

using spanflow::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> args{"spanflow"};
    std::string current;
    for (std::size_t i = 0; i < size && args.size() < 64; ++i) {
        if (data[i] == 0) {
            args.push_back(current);
            current.clear();
        } else {
            current.push_back(static_cast<char>(data[i]));
        }
    }
    if (!current.empty()) args.push_back(current);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    spanflow::ProbeConfig config;
    std::string message;
    const auto outcome = spanflow::parse_command_line(static_cast<int>(args.size()), argv.data(),
                                                      config, message);
    if (outcome == spanflow::CliOutcome::exit_usage) {
        require(!message.empty(), "a refusal without words");
        // CLI11's own messages end in a newline; the line itself is one.
        const auto end = message.find_last_not_of('\n');
        require(message.find('\n') >= end, "a refusal of more than one line");
    }
    if (outcome == spanflow::CliOutcome::run)
        require(config.is_live() != !config.read_path.empty(), "neither or both of -r and live");
    return 0;
}
