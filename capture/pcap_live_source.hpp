// Live capture from one network interface with libpcap (TPACKET_V3 underneath on Linux), for a
// switch mirror (SPAN) port or a tap.
//
// How it is opened (pcap_create ... pcap_activate), and why:
//   - promiscuous by default: a mirror port's frames are addressed to other hosts. libpcap asks
//     with PACKET_ADD_MEMBERSHIP, which the kernel counts and undoes when the socket closes, so a
//     crash never leaves the port promiscuous;
//   - snaplen 256 by default: enough for QinQ, MPLS and IPv6 extension headers; counters come
//     from the IP header, never from the captured length;
//   - a 64 MiB kernel buffer by default (libpcap's own is 2 MiB, which a burst overflows);
//   - a 10 ms block timeout, non-blocking, and poll() with kPollTimeout: never timeout 0, which
//     on TPACKET_V3 means "hand a block over only when it is full", so a quiet link delivers
//     nothing (ENVIRONMENT.md saw 0 of 360 packets);
//   - nanosecond timestamps where the kernel gives them;
//   - a BPF program always, the capture filter or "accept": it makes the kernel copy only the
//     snaplen into the ring.
//
// Packet memory. libpcap hands a TPACKET_V3 block back to the kernel inside pcap_dispatch() once
// its last packet has been seen, so a pointer into the ring is not safe after the callback
// returns. The source copies each packet's captured bytes (at most the snaplen) into its own
// arena, so views stay valid until the next poll.
//
// Faults. An interface that is down at start, or goes down and up, does not stop the probe: the
// handle survives down/up (libpcap 1.10, checked), and one that could not be opened because the
// interface was down is tried again. An interface deleted while running makes pcap_dispatch fail
// ("The interface disappeared"): the handle is closed and opened again with backoff until the
// interface is back; each reopen is counted and said once on stderr. The ifIndex the flows carry
// is the one taken at start (or configured), so it never changes, even though a re-created
// interface gets a new kernel ifindex.
//
// Counters. libpcap's pcap_stats() counters are 32-bit and cumulative per handle: they are read
// once a second and at the end, and their differences are added to 64-bit totals.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/source.hpp"
#include "probe/core/link_type.hpp"
#include "probe/core/packet_view.hpp"

struct pcap;
struct pcap_pkthdr;

namespace spanflow {

// libpcap refuses less than a link header; 262144 is its MAXIMUM_SNAPLEN.
inline constexpr int kMinSnaplen = 64;
inline constexpr int kMaxSnaplen = 262144;

struct PcapLiveOptions {
    int snaplen{256};  // kept within [kMinSnaplen, kMaxSnaplen]
    bool promiscuous{true};
    int buffer_bytes{64 << 20};
    std::string filter;  // tcpdump syntax; empty: every packet
};

class PcapLiveSource {
  public:
    // How long one poll() waits for packets when none are ready: short enough that the capture
    // loop runs its 100 ms expiry tick on time on a quiet link.
    static constexpr std::chrono::milliseconds kPollTimeout{20};
    static constexpr std::chrono::milliseconds kFirstRetry{100};
    static constexpr std::chrono::milliseconds kMaxRetry{1000};

    // Opens `name` and takes its kernel ifindex now, unless `ifindex` is given (non-zero).
    // An interface that exists but is down is accepted: the source waits for it. On failure
    // (no such interface, no rights, a filter that does not compile, ...) returns null, with
    // `error` one line that says which.
    [[nodiscard]] static std::unique_ptr<PcapLiveSource> open(const std::string& name,
                                                              std::uint32_t ifindex,
                                                              const PcapLiveOptions& options,
                                                              std::string& error);
    ~PcapLiveSource();
    PcapLiveSource(const PcapLiveSource&) = delete;
    PcapLiveSource& operator=(const PcapLiveSource&) = delete;

    // The CaptureSource interface (capture/source.hpp). poll() waits at most kPollTimeout and
    // returns packets or empty; a live source never ends and never fails: faults are retried.
    [[nodiscard]] PollStatus poll(PacketBatch& batch);
    void release(const PacketBatch&) {}
    [[nodiscard]] LinkType link_type() const { return link_; }
    [[nodiscard]] CaptureStats stats() const { return stats_; }
    [[nodiscard]] const std::string& error() const { return error_; }

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] std::uint32_t ifindex() const { return ifindex_; }
    [[nodiscard]] int datalink() const { return dlt_; }
    // At the end of the capture: reads the kernel's counters one last time, so the report has
    // every drop (the capture thread reads them once a second while it runs).
    void finish();
    // After a stop, the capture loop reads what the kernel has already captured before it ends.
    static constexpr bool kDrainOnStop = true;

  private:
    PcapLiveSource(std::string name, std::uint32_t ifindex, const PcapLiveOptions& options);
    // pcap_create .. pcap_activate, the filter, non-blocking. Returns a libpcap status: 0 (or a
    // warning, > 0) on success, else < 0 with error_ set.
    int activate();
    void close_handle(bool interface_gone = false);
    void update_kernel_stats(bool interface_gone);
    void lost(const std::string& why);  // the interface went away: close, schedule a reopen
    static void on_packet(unsigned char* user, const ::pcap_pkthdr* header,
                          const unsigned char* bytes);

    std::string name_;
    std::uint32_t ifindex_;
    PcapLiveOptions options_;
    LinkType link_{LinkType::ethernet};
    int dlt_{1};  // DLT_EN10MB until the handle says otherwise
    pcap* handle_{nullptr};
    int fd_{-1};
    bool nanoseconds_{true};
    bool opened_once_{false};
    bool said_waiting_{false};
    unsigned bound_ifindex_{0};  // the kernel ifindex the handle is bound to (0: "any")
    std::string error_;
    std::string said_error_;  // the reopen failure last said on stderr
    CaptureStats stats_;
    // pcap_stats() of the current handle at the last read: 32-bit, per handle.
    std::uint32_t last_drop_{0}, last_ifdrop_{0};
    std::chrono::steady_clock::time_point next_stats_{};
    std::chrono::steady_clock::time_point next_retry_{};
    std::chrono::milliseconds retry_{kFirstRetry};
    std::unique_ptr<std::uint8_t[]> arena_;  // captured bytes of the batch being filled
    PacketBatch* filling_{nullptr};
};

// The interfaces that exist, "lo, eth0, eth1", for the error line of a name that does not.
[[nodiscard]] std::string interface_names();

}  // namespace spanflow
