// Everything the command line decides, checked and in the units the rest of the probe uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "capture/afxdp_source.hpp"
#include "capture/dpdk_source.hpp"
#include "capture/pcap_live_source.hpp"
#include "export/export_path.hpp"
#include "probe/core/socket_address.hpp"
#include "probe/flow/flow_shard.hpp"

namespace spanflow {

inline constexpr std::uint64_t kMaxWorkers = 1024;
inline constexpr std::uint64_t kMaxRingSlots = 65536;

// One -i: an interface to capture, and the ifIndex its flows carry (0: its kernel ifindex, taken
// at start).
struct InterfaceSpec {
    std::string name;
    std::uint32_t ifindex{0};
};

// How live packets are read: libpcap (any interface), AF_XDP (a socket per receive queue), or
// DPDK (the ports its EAL takes over, per receive queue).
enum class Backend : std::uint8_t { pcap, afxdp, dpdk };

struct ProbeConfig {
    std::string read_path;                  // -r: capture file to replay
    std::vector<InterfaceSpec> interfaces;  // -i, repeatable: live capture
    std::string filter;                     // trailing arguments: a capture filter (tcpdump)
    PcapLiveOptions live{};                 // --snaplen, --no-promisc, --buffer-size
    Backend backend{Backend::pcap};         // --backend
    AfXdpOptions afxdp{};  // --queues, --xdp-mode, --zero-copy, --rss, --no-promisc
    DpdkOptions dpdk{};    // --dpdk-args, --queues, --rss, --no-promisc, --ifindex
    // --user/--group: the ids to run as once captures and sockets are open; -1 keeps them.
    std::string user, group;
    long uid{-1}, gid{-1};
    std::vector<SocketAddress> collectors;  // -n, repeatable: every datagram goes to each
    std::string write_path;                 // -w: JSON lines; "-" is stdout; empty: none
    FlowTimeouts timeouts{};
    std::uint32_t max_flows{1'048'576};
    std::uint32_t ifindex{0};
    unsigned workers{1};          // flow-table threads (--workers; default cores - 1)
    std::size_t ring_slots{256};  // capture -> worker ring slots (--ring-size)
    ExportConfig exporting{};     // -v, --engine-*, --observation-domain, --max-datagram, refresh

    // Live capture (interfaces, or DPDK's ports), not a replay.
    [[nodiscard]] bool is_live() const { return !interfaces.empty() || backend == Backend::dpdk; }
};

enum class CliOutcome : std::uint8_t {
    run,         // config is complete
    exit_ok,     // --help or --version was printed
    exit_usage,  // a bad option; `message` says which and what is allowed (exit status 2)
};

[[nodiscard]] CliOutcome parse_command_line(int argc, char** argv, ProbeConfig& config,
                                            std::string& message);

}  // namespace spanflow
