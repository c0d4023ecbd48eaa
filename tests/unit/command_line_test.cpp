#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "probe/app/probe_config.hpp"

using spanflow::CliOutcome;

namespace {
struct Parsed {
    CliOutcome outcome;
    spanflow::ProbeConfig config;
    std::string message;
};

Parsed parse(std::vector<std::string> args) {
    args.insert(args.begin(), "spanflow");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    Parsed p;
    p.outcome = spanflow::parse_command_line(static_cast<int>(argv.size()), argv.data(), p.config,
                                             p.message);
    return p;
}
}  // namespace

TEST_SUITE("command line") {
    TEST_CASE("a full command line sets every option") {
        auto p = parse({"-r",
                        "x.pcap",
                        "-n",
                        "127.0.0.1:2055",
                        "-n",
                        "[::1]:9995",
                        "-v",
                        "5",
                        "-w",
                        "-",
                        "--active-timeout",
                        "60",
                        "--inactive-timeout",
                        "0.5",
                        "--tcp-end-timeout",
                        "2",
                        "-m",
                        "1000",
                        "--ifindex",
                        "7",
                        "--engine-id",
                        "3",
                        "--engine-type",
                        "1",
                        "--max-datagram",
                        "1200"});
        REQUIRE(p.outcome == CliOutcome::run);
        CHECK(p.config.read_path == "x.pcap");
        REQUIRE(p.config.collectors.size() == 2);
        CHECK(p.config.collectors[1].to_string() == "[::1]:9995");
        CHECK(p.config.write_path == "-");
        CHECK(p.config.timeouts.active == std::chrono::seconds(60));
        CHECK(p.config.timeouts.inactive == std::chrono::milliseconds(500));
        CHECK(p.config.timeouts.tcp_end == std::chrono::seconds(2));
        CHECK(p.config.max_flows == 1000);
        CHECK(p.config.ifindex == 7);
        CHECK(p.config.exporting.version == 5);
        CHECK(p.config.exporting.engine_id == 3);
        CHECK(p.config.exporting.engine_type == 1);
        CHECK(p.config.exporting.max_datagram_bytes == 1200);
    }

    TEST_CASE("defaults follow SEMANTICS.md") {
        auto p = parse({"-r", "x.pcap", "-w", "out.jsonl"});
        REQUIRE(p.outcome == CliOutcome::run);
        CHECK(p.config.timeouts.active == std::chrono::seconds(1800));
        CHECK(p.config.timeouts.inactive == std::chrono::seconds(15));
        CHECK(p.config.timeouts.tcp_end == std::chrono::seconds(5));
        CHECK(p.config.max_flows == 1'048'576);
        CHECK(p.config.exporting.version == 10);
        CHECK(p.config.exporting.max_datagram_bytes == 1400);
        CHECK(p.config.exporting.refresh_datagrams == 20);
        CHECK(p.config.exporting.refresh_interval == std::chrono::seconds(60));
    }

    TEST_CASE("v9 and IPFIX take 32-bit ids and interfaces, and their own refresh options") {
        auto p = parse({"-r", "x.pcap", "-w", "-", "-v", "9", "--engine-id", "70000", "--ifindex",
                        "4000000000", "--template-refresh-packets", "5",
                        "--template-refresh-seconds", "0.5"});
        REQUIRE(p.outcome == CliOutcome::run);
        CHECK(p.config.exporting.version == 9);
        CHECK(p.config.exporting.engine_id == 70000);
        CHECK(p.config.ifindex == 4'000'000'000u);
        auto q = parse({"-r", "x.pcap", "-w", "-", "--observation-domain", "4294967295"});
        REQUIRE(q.outcome == CliOutcome::run);
        CHECK(q.config.exporting.observation_domain == 4'294'967'295u);
        CHECK(p.config.exporting.refresh_datagrams == 5);
        CHECK(p.config.exporting.refresh_interval == std::chrono::milliseconds(500));
    }

    TEST_CASE("a refusal stays one line when an argument holds control characters") {
        // Found by tests/fuzz/command_line_fuzz (corpus/command_line/regression-*).
        auto p = parse({"-r", "x.pcap", "-m", "12\nspanflow: forged\tline\x01"});
        REQUIRE(p.outcome == CliOutcome::exit_usage);
        CHECK(p.message.find('\n') == std::string::npos);
        CHECK(p.message.find("12\\nspanflow: forged\\tline\\x01") != std::string::npos);
    }

    TEST_CASE("a bad value names the option, the value and what is allowed") {
        struct Case {
            std::vector<std::string> args;
            const char* option;
            const char* value;
        };
        for (const Case& c : std::vector<Case>{
                 {{"-m", "0"}, "--max-flows", "'0'"},
                 {{"-m", "lots"}, "--max-flows", "'lots'"},
                 {{"--inactive-timeout", "-1"}, "--inactive-timeout", "'-1'"},
                 {{"--active-timeout", "abc"}, "--active-timeout", "'abc'"},
                 {{"-n", "localhost:2055"}, "--collector", "'localhost:2055'"},
                 {{"-n", "127.0.0.1"}, "--collector", "'127.0.0.1'"},
                 {{"-n", "[::1]:99999"}, "--collector", "'[::1]:99999'"},
                 {{"-v", "7"}, "--export-version", "'7'"},
                 {{"-v", "5", "--engine-id", "256"}, "--engine-id", "'256'"},
                 {{"-v", "5", "--ifindex", "70000"}, "--ifindex", "'70000'"},
                 {{"-v", "5", "--max-datagram", "50"}, "--max-datagram", "'50'"},
                 {{"--max-datagram", "300"}, "--max-datagram", "'300'"},
                 {{"--observation-domain", "4294967296"}, "--observation-domain", "'4294967296'"},
                 {{"--template-refresh-packets", "0"}, "--template-refresh-packets", "'0'"},
                 {{"--template-refresh-seconds", "x"}, "--template-refresh-seconds", "'x'"},
                 {{"--tcp-end-timeout", "0.0001"}, "--tcp-end-timeout", "'0.0001'"},
             }) {
            auto args = c.args;
            args.insert(args.end(), {"-r", "x.pcap", "-w", "-"});
            auto p = parse(args);
            CHECK(p.outcome == CliOutcome::exit_usage);
            CHECK_MESSAGE(p.message.rfind(c.option, 0) == 0, p.message);
            CHECK_MESSAGE(p.message.find(c.value) != std::string::npos, p.message);
            CHECK_MESSAGE(p.message.find("allowed") != std::string::npos, p.message);
        }
    }

    TEST_CASE("an option the chosen format does not carry is refused, naming both") {
        for (const auto& args : std::vector<std::vector<std::string>>{
                 {"-v", "9", "--observation-domain", "1"},
                 {"-v", "10", "--engine-id", "1"},
                 {"-v", "9", "--engine-type", "1"},
                 {"-v", "5", "--template-refresh-packets", "5"},
                 {"-v", "5", "--template-refresh-seconds", "5"}}) {
            auto full = args;
            full.insert(full.end(), {"-r", "x.pcap", "-w", "-"});
            auto p = parse(full);
            CHECK(p.outcome == CliOutcome::exit_usage);
            CHECK_MESSAGE(p.message.rfind(args[2], 0) == 0, p.message);
            CHECK_MESSAGE(p.message.find("not allowed with -v " + args[1]) != std::string::npos,
                          p.message);
        }
    }

    TEST_CASE("an unknown option or a missing input is a usage error") {
        CHECK(parse({"--frobnicate"}).outcome == CliOutcome::exit_usage);
        auto no_input = parse({"-w", "-"});
        CHECK(no_input.outcome == CliOutcome::exit_usage);
        CHECK(no_input.message.find("--read") != std::string::npos);
        auto no_output = parse({"-r", "x.pcap"});
        CHECK(no_output.outcome == CliOutcome::exit_usage);
    }
}
