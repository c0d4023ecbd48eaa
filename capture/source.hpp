// The capture-source seam: what every backend (capture file, libpcap live, AF_XDP and DPDK)
// offers the runtime's capture loop. The loop is a template on the source type, picked once per
// run, so no packet pays for a virtual call:
//
//     for (;;) {
//         PollStatus s = source.poll(batch);   // packets | empty (nothing yet) | end | error
//         stamp clock, decode, hand to the flow shards
//         source.release(batch);               // frames back to the fill ring / mbufs freed
//         if (s == end || s == error) break;
//     }
//
// A batch's views stay valid until release(); a source whose memory goes back to the kernel or a
// NIC (AF_XDP fill ring, DPDK mbufs) does that in release(), one that copies does nothing there.
#pragma once

#include <concepts>
#include <cstdint>
#include <ctime>
#include <string>

#include "probe/core/link_type.hpp"
#include "probe/core/packet_view.hpp"

namespace spanflow {

enum class PollStatus : std::uint8_t {
    packets,  // the batch holds packets and more may follow
    empty,    // nothing arrived this poll (live: the poll timed out, or the interface is away)
    end,      // the input ended cleanly; the batch holds its last packets (maybe none)
    error,    // the input is damaged here; the batch holds the packets read before the damage
};

// What a source counts, 64-bit and cumulative for the whole run, whatever the backend's own
// counters do (libpcap's are 32-bit, PACKET_STATISTICS clears on read). A field a backend has no
// way to know stays 0; the report says which ones apply.
struct CaptureStats {
    std::uint64_t received{0};           // live: packets the kernel handed over (after its
                                         // filter); file: every record read
    std::uint64_t skipped_bad_time{0};   // file: records whose time is before 1970 or after 2242
    std::uint64_t skipped_link_type{0};  // file: pcapng packets on an interface whose link type
                                         // decode does not read
    std::uint64_t filtered_out{0};       // file: packets the capture filter did not keep
    std::uint64_t dropped_kernel{0};     // live: the kernel's buffer was full (pcap ps_drop)
    std::uint64_t dropped_interface{0};  // live: the interface or driver dropped (ps_ifdrop;
                                         // DPDK: the queue's q_errors, where the driver has them)
    std::uint64_t dropped_ring_full{0};  // AF_XDP: the socket's RX ring was full (rx_ring_full);
                                         // DPDK: the NIC's (imissed, port-wide, in queue 0's)
    std::uint64_t buffers_empty{0};      // AF_XDP: no frame in the fill ring
                                         // (rx_fill_ring_empty_descs); DPDK: no mbuf (rx_nombuf,
                                         // port-wide, in queue 0's)
    std::uint64_t unserved_queues{0};    // AF_XDP: packets on queues without a socket (port-wide,
                                         // in queue 0's counters)
    std::uint64_t receive_errors{0};     // DPDK: erroneous packets (ierrors, port-wide, in queue
                                         // 0's)
    std::uint64_t reopens{0};            // live: times the handle was opened again
    std::uint64_t empty_polls{0};        // live: polls that found nothing
};

// The real-time clock now: the stamp of a live batch whose descriptors carry no time of their own
// (AF_XDP, DPDK), read once per batch.
inline Timestamp realtime_now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return Timestamp::from_ns(static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
}

// A capture source, as the runtime's capture loop uses it.
template <class S>
concept CaptureSource = requires(S& s, const S& cs, PacketBatch& batch) {
    { s.poll(batch) } -> std::same_as<PollStatus>;
    {s.release(batch)};
    { cs.link_type() } -> std::same_as<LinkType>;
    { cs.stats() } -> std::same_as<CaptureStats>;
    { cs.error() } -> std::convertible_to<std::string>;  // after PollStatus::error
};

}  // namespace spanflow
