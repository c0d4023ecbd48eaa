#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <optional>

#include "export/wire/netflow_v5.hpp"
#include "probe/app/pipeline.hpp"
#include "probe/app/probe_config.hpp"

#ifndef SPANFLOW_VERSION
#define SPANFLOW_VERSION "unknown"
#endif

namespace spanflow {
namespace {

// Option values are taken as text and checked here, so every error names the option, the value
// and what is allowed, in one line.
struct Checked {
    std::string message;
    bool ok() const { return message.empty(); }
};

std::optional<std::uint64_t> parse_whole(const std::string& text) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return v;
}

Checked whole_in_range(const std::string& option, const std::string& text, std::uint64_t lo,
                       std::uint64_t hi, std::uint64_t& out) {
    auto v = parse_whole(text);
    if (!v || *v < lo || *v > hi)
        return {fmt::format("{}: '{}' is not allowed; give a whole number from {} to {}", option,
                            text, lo, hi)};
    out = *v;
    return {};
}

// Seconds may have a fraction (0.5); they must be at least a millisecond, the unit flows are
// exported in, and fit the 32-bit millisecond fields that exporters use for durations.
constexpr double kMinTimeoutSeconds = 0.001;
// The largest UDP payload over IPv4.
constexpr std::uint64_t kMaxUdpPayloadBytes = 65507;
constexpr double kMaxTimeoutSeconds = 4'294'967.0;

Checked seconds(const std::string& option, const std::string& text, Duration& out) {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty() ||
        !(v >= kMinTimeoutSeconds) || v > kMaxTimeoutSeconds || !std::isfinite(v))
        return {fmt::format("{}: '{}' is not allowed; give seconds from {} to {:.0f}", option, text,
                            kMinTimeoutSeconds, kMaxTimeoutSeconds)};
    out = Duration{static_cast<std::int64_t>(std::llround(v * 1e9))};
    return {};
}

}  // namespace

CliOutcome parse_command_line(int argc, char** argv, ProbeConfig& config, std::string& message) {
    CLI::App app{
        "spanflow: a passive flow probe. Reads packets, builds flows (IOS seven-tuple), "
        "exports IPFIX, NetFlow v9 or v5 to collectors and/or JSON lines.",
        "spanflow"};
    app.set_version_flag("--version", "spanflow " SPANFLOW_VERSION);

    std::vector<std::string> collectors;
    std::string version = "10", active = "1800", inactive = "15", tcp_end = "5";
    std::string max_flows = "1048576", ifindex = "0", engine_id = "0", engine_type = "0";
    std::string max_datagram = "1400", domain = "0", refresh_packets = "20", refresh_seconds = "60";
    std::string workers = std::to_string(default_worker_count()), ring_size = "256";
    app.add_option("-r,--read", config.read_path, "Replay this capture file (pcap or pcapng)")
        ->option_text("FILE");
    app.add_option("-n,--collector", collectors,
                   "Send exports to this collector, ADDR:PORT or [IPv6]:PORT; repeat for more")
        ->option_text("ADDR:PORT")
        ->take_all()
        ->allow_extra_args(false);
    app.add_option("-v,--export-version", version,
                   "Export format: 10 = IPFIX, 9 = NetFlow v9, 5 = NetFlow v5 (IPv4 only)")
        ->option_text("10|9|5 [10]");
    app.add_option("-w,--write", config.write_path,
                   "Write flows as JSON lines to FILE (- is stdout)")
        ->option_text("FILE");
    app.add_option("--active-timeout", active, "End a flow this long after its first packet (s)")
        ->option_text("SECONDS [1800]");
    app.add_option("--inactive-timeout", inactive, "End a flow idle this long (s)")
        ->option_text("SECONDS [15]");
    app.add_option("--tcp-end-timeout", tcp_end, "Idle timeout after TCP FIN or RST (s)")
        ->option_text("SECONDS [5]");
    app.add_option("-m,--max-flows", max_flows,
                   "Flow table capacity; when full, the least "
                   "recently used flow is exported early")
        ->option_text("N [1048576]");
    app.add_option("--workers", workers,
                   "Flow-table worker threads; the cache is split between them by key hash")
        ->option_text(fmt::format("N [{}: cores - 1]", default_worker_count()));
    app.add_option("--ring-size", ring_size,
                   "Slots (batches of up to 32 packets) in each capture -> worker ring")
        ->option_text("N [256]");
    app.add_option("--ifindex", ifindex,
                   "Ingress ifIndex to put in flows of a replay (v5: up to 65535)")
        ->option_text("N [0]");
    app.add_option("--max-datagram", max_datagram,
                   "Largest export datagram, UDP payload bytes (fit the path MTU)")
        ->option_text("BYTES [1400]");
    app.add_option("--engine-type", engine_type, "NetFlow v5 engine_type")->option_text("N [0]");
    app.add_option("--engine-id", engine_id, "NetFlow v5 engine_id (0-255) / v9 source id")
        ->option_text("N [0]");
    app.add_option("--observation-domain", domain, "IPFIX observation domain id")
        ->option_text("N [0]");
    app.add_option("--template-refresh-packets", refresh_packets,
                   "v9/IPFIX: send the templates again every N export datagrams")
        ->option_text("N [20]");
    app.add_option("--template-refresh-seconds", refresh_seconds,
                   "v9/IPFIX: ... and every this many seconds of the export clock")
        ->option_text("SECONDS [60]");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return CliOutcome::exit_ok;
    } catch (const CLI::CallForVersion&) {
        std::puts("spanflow " SPANFLOW_VERSION);
        return CliOutcome::exit_ok;
    } catch (const CLI::ParseError& e) {
        message = fmt::format("{} (see spanflow --help)", e.what());
        return CliOutcome::exit_usage;
    }

    std::uint64_t v = 0;
    std::vector<Checked> checks;
    ExportConfig& e = config.exporting;
    if (version == "5" || version == "9" || version == "10") {
        e.version = std::stoi(version);
    } else {
        checks.push_back({fmt::format(
            "--export-version: '{}' is not allowed; give 10 (IPFIX), 9 (NetFlow v9) or 5 "
            "(NetFlow v5)",
            version)});
    }
    const bool v5 = e.version == 5;
    constexpr std::uint64_t kMax32 = 0xFFFF'FFFFull;
    // An option that the chosen format does not carry is an error, not silently ignored.
    struct Applies {
        const char* option;
        bool ok;
        const char* formats;
    };
    for (const Applies& a : {Applies{"--observation-domain", e.version == 10, "IPFIX (-v 10)"},
                             Applies{"--engine-type", v5, "NetFlow v5 (-v 5)"},
                             Applies{"--engine-id", e.version != 10, "NetFlow v5 and v9"},
                             Applies{"--template-refresh-packets", !v5, "v9 and IPFIX"},
                             Applies{"--template-refresh-seconds", !v5, "v9 and IPFIX"}}) {
        if (app.count(a.option) != 0 && !a.ok)
            checks.push_back({fmt::format("{}: not allowed with -v {}; it applies to {} only",
                                          a.option, version, a.formats)});
    }
    checks.push_back(seconds("--active-timeout", active, config.timeouts.active));
    checks.push_back(seconds("--inactive-timeout", inactive, config.timeouts.inactive));
    checks.push_back(seconds("--tcp-end-timeout", tcp_end, config.timeouts.tcp_end));
    checks.push_back(whole_in_range("--max-flows", max_flows, 1, 1u << 30, v));
    config.max_flows = static_cast<std::uint32_t>(v);
    checks.push_back(whole_in_range("--workers", workers, 1, kMaxWorkers, v));
    config.workers = static_cast<unsigned>(v);
    checks.push_back(whole_in_range("--ring-size", ring_size, 1, kMaxRingSlots, v));
    config.ring_slots = static_cast<std::size_t>(v);
    checks.push_back(
        whole_in_range("--ifindex", ifindex, 0, v5 ? wire::v5::kMaxIfIndex : kMax32, v));
    config.ifindex = static_cast<std::uint32_t>(v);
    checks.push_back(whole_in_range("--max-datagram", max_datagram,
                                    ExportPath::min_datagram_bytes(e.version), kMaxUdpPayloadBytes,
                                    v));
    e.max_datagram_bytes = static_cast<std::size_t>(v);
    checks.push_back(whole_in_range("--engine-type", engine_type, 0, 255, v));
    e.engine_type = static_cast<std::uint8_t>(v);
    checks.push_back(whole_in_range("--engine-id", engine_id, 0, v5 ? 255 : kMax32, v));
    e.engine_id = static_cast<std::uint32_t>(v);
    checks.push_back(whole_in_range("--observation-domain", domain, 0, kMax32, v));
    e.observation_domain = static_cast<std::uint32_t>(v);
    checks.push_back(whole_in_range("--template-refresh-packets", refresh_packets, 1, kMax32, v));
    e.refresh_datagrams = static_cast<std::uint32_t>(v);
    checks.push_back(seconds("--template-refresh-seconds", refresh_seconds, e.refresh_interval));
    for (const std::string& c : collectors) {
        auto addr = parse_socket_address(c);
        if (!addr || addr->port() == 0) {
            checks.push_back(
                {fmt::format("--collector: '{}' is not allowed; give ADDR:PORT with a "
                             "numeric address and a port from 1 to 65535, e.g. "
                             "127.0.0.1:2055 or [::1]:2055",
                             c)});
            continue;
        }
        config.collectors.push_back(*addr);
    }
    if (config.read_path.empty()) {
        checks.push_back(
            {"--read: a capture file is required (-r FILE); live capture is not "
             "built yet"});
    }
    if (config.collectors.empty() && config.write_path.empty()) {
        checks.push_back(
            {"--collector/--write: nothing to export to; give -n ADDR:PORT and/or "
             "-w FILE"});
    }
    for (const Checked& c : checks) {
        if (!c.ok()) {
            message = c.message;
            return CliOutcome::exit_usage;
        }
    }
    return CliOutcome::run;
}

}  // namespace spanflow
