#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <grp.h>
#include <net/if.h>
#include <pwd.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <optional>

#include "export/wire/netflow_v5.hpp"
#include "probe/app/probe_config.hpp"
#include "probe/runtime/pipeline.hpp"

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

constexpr std::uint64_t kMinBufferBytes = 1 << 20;
constexpr std::uint64_t kMaxBufferBytes = (std::uint64_t{1} << 31) - 1;  // libpcap takes an int
constexpr std::size_t kMaxInterfaceName = 16;                            // IFNAMSIZ

// BYTES with an optional K, M or G suffix (powers of 1024): 64M.
Checked byte_size(const std::string& option, const std::string& text, std::uint64_t& out) {
    std::string digits = text;
    std::uint64_t unit = 1;
    if (!digits.empty()) {
        switch (digits.back()) {
            case 'K':
            case 'k':
                unit = 1ull << 10;
                break;
            case 'M':
            case 'm':
                unit = 1ull << 20;
                break;
            case 'G':
            case 'g':
                unit = 1ull << 30;
                break;
            default:
                break;
        }
        if (unit != 1) digits.pop_back();
    }
    auto v = parse_whole(digits);
    if (!v || *v > kMaxBufferBytes / unit || *v * unit < kMinBufferBytes ||
        *v * unit > kMaxBufferBytes)
        return {
            fmt::format("{}: '{}' is not allowed; give bytes from 1M to 2047M (K, M and G "
                        "suffixes allowed)",
                        option, text)};
    out = *v * unit;
    return {};
}

CliOutcome parse_arguments(int argc, char** argv, ProbeConfig& config, std::string& message);

// A refusal quotes what was given; control characters in it (a newline inside an argument)
// would break the one line it must be, so they are shown escaped.
std::string one_line(const std::string& text) {
    std::string out;
    const std::size_t end = text.find_last_not_of('\n') + 1;  // a last newline stays one
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (i >= end || (c >= 0x20 && c != 0x7F)) {
            out.push_back(text[i]);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else {
            out += fmt::format("\\x{:02x}", c);
        }
    }
    return out;
}

}  // namespace

CliOutcome parse_command_line(int argc, char** argv, ProbeConfig& config, std::string& message) {
    const CliOutcome outcome = parse_arguments(argc, argv, config, message);
    if (outcome == CliOutcome::exit_usage) message = one_line(message);
    return outcome;
}

namespace {

CliOutcome parse_arguments(int argc, char** argv, ProbeConfig& config, std::string& message) {
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
    std::vector<std::string> interfaces, filter_words;
    std::string snaplen = "256", buffer_size = "64M";
    bool no_promisc = false;
    std::string backend = "pcap", queues = "all", xdp_mode = "auto", zero_copy = "auto", rss = "ip";
    std::string dpdk_args, descriptors;  // empty: the backend's own default
    app.add_option("-r,--read", config.read_path, "Replay this capture file (pcap or pcapng)")
        ->option_text("FILE");
    app.add_option("-i,--interface", interfaces,
                   "Capture live on this interface; repeat for more. [IFINDEX:]NAME gives the "
                   "ifIndex its flows carry (default: its kernel ifindex)")
        ->option_text("[IFINDEX:]NAME")
        ->take_all()
        ->allow_extra_args(false);
    app.add_flag("--no-promisc", no_promisc, "Live: do not put the interfaces in promiscuous mode");
    app.add_option("--snaplen", snaplen, "Live: bytes captured of each packet")
        ->option_text("BYTES [256]");
    app.add_option("--buffer-size", buffer_size,
                   "Live: the kernel's capture buffer per interface (K, M, G suffixes)")
        ->option_text("BYTES [64M]");
    app.add_option("--backend", backend,
                   "Live: how packets are read: pcap (libpcap, any interface), afxdp (an AF_XDP "
                   "socket and a capture thread per receive queue) or dpdk (the ports DPDK's EAL "
                   "takes over, a capture thread per receive queue)")
        ->option_text("pcap|afxdp|dpdk [pcap]");
    app.add_option("--dpdk-args", dpdk_args,
                   "dpdk: DPDK EAL arguments, split at blanks; every port they name is captured: "
                   "\"-l 0-4 -a 0000:3b:00.0\", \"--no-huge -m 1024 --vdev net_pcap0,rx_pcap=F\"")
        ->option_text("ARGS");
    app.add_option("--descriptors", descriptors,
                   "afxdp, dpdk: receive descriptors per queue, 64-32768. afxdp: a power of two, "
                   "default 8192, the UMEM holds twice as many 4 KiB frames; dpdk: default 1024 "
                   "(the driver may adjust them), each queue's mbuf pool holds twice as many")
        ->option_text("N");
    app.add_option("--queues", queues,
                   "afxdp, dpdk: read receive queues 0..N-1, or all of them (dpdk: at most one "
                   "per core)")
        ->option_text("N|all [all]");
    app.add_option("--xdp-mode", xdp_mode,
                   "afxdp: native (driver) XDP, generic (SKB) XDP, or native falling back to "
                   "generic")
        ->option_text("native|generic|auto [auto]");
    app.add_option("--zero-copy", zero_copy,
                   "afxdp: auto tries zero-copy and falls back to copy mode; yes refuses to run "
                   "without it; no uses copy mode")
        ->option_text("auto|yes|no [auto]");
    app.add_option("--rss", rss,
                   "afxdp, dpdk: what the NIC may hash to pick a queue for each queue to own its "
                   "flows: "
                   "ip (addresses only: exact) or ports (accept a hash on ports: a fragmented "
                   "datagram's first fragment may then be a second flow)")
        ->option_text("ip|ports [ip]");
    app.add_option("--user", config.user,
                   "Once captures and sockets are open, run as this user, keeping only the "
                   "capabilities a capture reopen needs")
        ->option_text("NAME");
    app.add_option("--group", config.group, "... and this group (default: the user's)")
        ->option_text("NAME");
    app.add_option("filter", filter_words,
                   "A capture filter in tcpdump syntax (pcap-filter(7)), for -i and -r alike")
        ->option_text("FILTER...");
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
                   "Ingress ifIndex to put in flows of a replay (v5: up to 65535); with "
                   "--backend dpdk, that of port 0's flows, port P's being N+P (default P+1)")
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
        (void)std::fputs(app.help().c_str(), stdout);
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
    if (backend == "pcap") {
        config.backend = Backend::pcap;
    } else if (backend == "afxdp") {
#ifdef SPANFLOW_HAVE_AFXDP
        config.backend = Backend::afxdp;
#else
        checks.push_back(
            {"--backend: 'afxdp' is not in this build (it needs libxdp, libbpf and clang at "
             "build time); give pcap"});
#endif
    } else if (backend == "dpdk") {
#ifdef SPANFLOW_HAVE_DPDK
        config.backend = Backend::dpdk;
#else
        checks.push_back(
            {"--backend: 'dpdk' is not in this build (it needs libdpdk 22.11 at build time); "
             "give pcap"});
#endif
    } else {
        checks.push_back(
            {fmt::format("--backend: '{}' is not allowed; give pcap, afxdp or dpdk", backend)});
    }
    const bool afxdp = config.backend == Backend::afxdp;
    const bool dpdk = config.backend == Backend::dpdk;
    // DPDK's ports come from its EAL arguments, not from -i.
    const bool live = !interfaces.empty() || dpdk;
    if (dpdk && !interfaces.empty())
        checks.push_back(
            {"--interface: not allowed with --backend dpdk; DPDK captures the ports its EAL "
             "arguments name (--dpdk-args \"-a PCI_ADDRESS\" or \"--vdev ...\")"});
    if (dpdk && !config.read_path.empty())
        checks.push_back({"--read: not allowed with --backend dpdk; DPDK captures live"});
    if (config.read_path.empty() && !live) {
        checks.push_back(
            {"--read/--interface: nothing to read; give a capture file (-r FILE), interfaces "
             "(-i NAME) or --backend dpdk"});
    }
    if (!config.read_path.empty() && !interfaces.empty()) {
        checks.push_back(
            {"--interface: not allowed with --read; give a capture file or "
             "interfaces, not both"});
    }
    for (const std::string& text : interfaces) {
        InterfaceSpec spec;
        spec.name = text;
        // [IFINDEX:]NAME, as softflowd spells it. Interface names cannot contain ':' here
        // (IFNAMSIZ names with an alias suffix are not separate interfaces to AF_PACKET).
        if (auto colon = text.find(':'); colon != std::string::npos) {
            spec.name = text.substr(colon + 1);
            Checked c = whole_in_range("--interface", text.substr(0, colon), 1,
                                       v5 ? wire::v5::kMaxIfIndex : kMax32, v);
            if (!c.ok()) {
                checks.push_back({fmt::format(
                    "--interface: '{}' is not allowed; give NAME or IFINDEX:NAME with an "
                    "ifIndex from 1 to {}",
                    text, v5 ? wire::v5::kMaxIfIndex : kMax32)});
                continue;
            }
            spec.ifindex = static_cast<std::uint32_t>(v);
        }
        if (spec.name.empty() || spec.name.size() >= kMaxInterfaceName) {
            checks.push_back({fmt::format(
                "--interface: '{}' is not allowed; give an interface name of 1 to {} characters",
                text, kMaxInterfaceName - 1)});
            continue;
        }
        for (const InterfaceSpec& other : config.interfaces) {
            if (other.name == spec.name)
                checks.push_back({fmt::format(
                    "--interface: '{}' is given twice; each interface is captured once",
                    spec.name)});
        }
        config.interfaces.push_back(spec);
    }
    // Each backend's own options are refused with the others.
    struct Backends {
        const char* option;
        bool ok;
        const char* which;
    };
    for (const Backends& b : {Backends{"--queues", afxdp || dpdk, "--backend afxdp and dpdk"},
                              Backends{"--rss", afxdp || dpdk, "--backend afxdp and dpdk"},
                              Backends{"--xdp-mode", afxdp, "--backend afxdp"},
                              Backends{"--zero-copy", afxdp, "--backend afxdp"},
                              Backends{"--dpdk-args", dpdk, "--backend dpdk"},
                              Backends{"--descriptors", afxdp || dpdk, "--backend afxdp and dpdk"}}) {
        if (app.count(b.option) != 0 && !b.ok)
            checks.push_back(
                {fmt::format("{}: not allowed with --backend {}; it applies to {} only", b.option,
                             backend, b.which)});
    }
    if (afxdp || dpdk) {
        for (const char* option : {"--snaplen", "--buffer-size"}) {
            if (app.count(option) != 0)
                checks.push_back({fmt::format(
                    "{}: not allowed with --backend {}; it takes whole frames into its own rings "
                    "(--backend pcap uses it)",
                    option, backend)});
        }
    }
    if (afxdp) {
        if (config.interfaces.size() == 1 && config.interfaces[0].name == "any")
            checks.push_back(
                {"--interface: 'any' is not allowed with --backend afxdp; give each interface"});
        if (!live) checks.push_back({"--backend: afxdp captures live; give interfaces (-i NAME)"});
    }
    if (queues != "all") {
        checks.push_back(whole_in_range("--queues", queues, 1, 256, v));
        config.afxdp.queues = config.dpdk.queues = static_cast<unsigned>(v);
    }
    if (xdp_mode == "auto") {
        config.afxdp.mode = XdpMode::automatic;
    } else if (xdp_mode == "native") {
        config.afxdp.mode = XdpMode::native;
    } else if (xdp_mode == "generic") {
        config.afxdp.mode = XdpMode::generic;
    } else {
        checks.push_back({fmt::format(
            "--xdp-mode: '{}' is not allowed; give native, generic or auto", xdp_mode)});
    }
    if (zero_copy == "auto") {
        config.afxdp.zero_copy = ZeroCopy::automatic;
    } else if (zero_copy == "yes") {
        config.afxdp.zero_copy = ZeroCopy::required;
    } else if (zero_copy == "no") {
        config.afxdp.zero_copy = ZeroCopy::off;
    } else {
        checks.push_back(
            {fmt::format("--zero-copy: '{}' is not allowed; give auto, yes or no", zero_copy)});
    }
    if (rss == "ip" || rss == "ports") {
        config.afxdp.rss_ports = config.dpdk.rss_ports = rss == "ports";
    } else {
        checks.push_back({fmt::format("--rss: '{}' is not allowed; give ip or ports", rss)});
    }
    for (const char* option : {"--snaplen", "--buffer-size", "--no-promisc"}) {
        if (app.count(option) != 0 && !live)
            checks.push_back(
                {fmt::format("{}: not allowed with --read; it applies to live "
                             "capture (-i) only",
                             option)});
    }
    if (app.count("--ifindex") != 0 && !interfaces.empty())
        checks.push_back(
            {"--ifindex: not allowed with --interface; give each interface's "
             "ifIndex as -i IFINDEX:NAME"});
    checks.push_back(whole_in_range("--snaplen", snaplen, kMinSnaplen, kMaxSnaplen, v));
    config.live.snaplen = static_cast<int>(v);
    checks.push_back(byte_size("--buffer-size", buffer_size, v));
    config.live.buffer_bytes = static_cast<int>(v);
    config.live.promiscuous = !no_promisc;
    for (std::size_t i = 0; i < filter_words.size(); ++i)
        config.filter += (i == 0 ? "" : " ") + filter_words[i];
    config.live.filter = config.filter;
    config.afxdp.promiscuous = !no_promisc;
    config.afxdp.filter = config.filter;
    config.dpdk.promiscuous = !no_promisc;
    config.dpdk.filter = config.filter;
    config.dpdk.eal_args = dpdk_args;
    if (!descriptors.empty()) {
        Checked range = whole_in_range("--descriptors", descriptors, 64, 32768, v);
        if (range.ok() && afxdp && !std::has_single_bit(v))
            checks.push_back({fmt::format(
                "--descriptors: '{}' is not allowed with --backend afxdp; give a power of two "
                "(64, 128, ... 32768): AF_XDP rings are powers of two",
                descriptors)});
        checks.push_back(range);
        config.dpdk.descriptors = static_cast<std::uint16_t>(v);
        config.afxdp.ring_size = static_cast<std::uint32_t>(v);
    }
    config.dpdk.first_ifindex = config.ifindex;
    if (!config.group.empty() && config.user.empty())
        checks.push_back(
            {"--group: give --user too; --group alone would leave the process "
             "running as root"});
    if (config.interfaces.size() > 1) {
        for (const InterfaceSpec& spec : config.interfaces) {
            if (spec.name == "any")
                checks.push_back(
                    {"--interface: 'any' already captures every interface; give it "
                     "alone, or the other interfaces' packets are counted twice"});
        }
    }
    // `-i eth0 eth1` reads eth1 as a capture filter, which libpcap would take as a host name.
    if (filter_words.size() == 1 && if_nametoindex(filter_words[0].c_str()) != 0)
        checks.push_back(
            {fmt::format("'{}' after the options is read as a capture filter, and it "
                         "names an interface; give each interface with its own -i",
                         filter_words[0])});
    if (!config.user.empty()) {
        // Parsed on the main thread before any other starts: getpwnam's buffer is ours alone.
        const passwd* pw = getpwnam(config.user.c_str());  // NOLINT(concurrency-mt-unsafe)
        if (pw == nullptr) {
            checks.push_back(
                {fmt::format("--user: '{}' is not a user on this machine", config.user)});
        } else {
            config.uid = static_cast<long>(pw->pw_uid);
            config.gid = static_cast<long>(pw->pw_gid);
        }
    }
    if (!config.group.empty()) {
        const group* gr = getgrnam(config.group.c_str());  // NOLINT(concurrency-mt-unsafe)
        if (gr == nullptr) {
            checks.push_back(
                {fmt::format("--group: '{}' is not a group on this machine", config.group)});
        } else {
            config.gid = static_cast<long>(gr->gr_gid);
        }
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

}  // namespace

}  // namespace spanflow
