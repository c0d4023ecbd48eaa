// The NetFlow v5 export path: collects ended flows into datagrams of up to 30 records, numbers
// them, and hands them to the transport. IPv6 flows cannot be carried by v5: they are counted as
// skipped, never silently lost.
//
// v5 carries flow times as 32-bit milliseconds since the exporter's boot (sysUptime), which spans
// 49.7 days. Replayed captures can do what no router does: go back in time, or span years (merged
// files). A collector rebuilds each datagram's boot time from its own header, so when a datagram's
// flows fall outside the window of the current boot time, the exporter moves its boot time to the
// datagram's earliest flow and counts it, and no datagram ever mixes flows more than the window
// apart. Times stay exact to the millisecond either way.
#pragma once

#include <array>
#include <cstdint>

#include "export/netflow_v5_encoder.hpp"
#include "export/udp_transport.hpp"

namespace spanflow {

struct V5ExporterStats {
    std::uint64_t records{0};
    std::uint64_t datagrams{0};
    std::uint64_t ipv6_skipped{0};
    std::uint64_t uptime_rebased{0};  // datagrams that needed a new sysUptime origin (see below)
};

class V5Exporter {
  public:
    // A partly filled datagram waits at most this long (export clock) for more records.
    static constexpr Duration kMaxHold{std::chrono::seconds{1}};

    // Datagrams stay within `max_datagram_bytes` (SEMANTICS.md: default 1400), which holds
    // (max - 24) / 48 records, and at most the format's 30.
    V5Exporter(UdpTransport& transport, std::uint8_t engine_type, std::uint8_t engine_id,
               std::size_t max_datagram_bytes);

    [[nodiscard]] static std::size_t records_per_datagram(std::size_t max_datagram_bytes);

    // sysUptime 0: the export clock when the exporter started (replay: the first packet's time),
    // rounded down to a whole second so that sysUptime is whole-second aligned.
    void set_boot_time(Timestamp t);
    void add(const FlowRecord& r, Timestamp now);
    void poll(Timestamp now);  // sends a partial datagram that has waited kMaxHold
    void flush(Timestamp now);

    [[nodiscard]] const V5ExporterStats& stats() const { return stats_; }

  private:
    // sysUptime fields are 32-bit milliseconds; a second is kept spare for the header's rounding.
    static constexpr std::int64_t kUptimeWindowMs = 0xFFFF'FFFFll - 1000;

    void send(Timestamp now);

    UdpTransport& transport_;
    V5Header header_{};
    std::size_t max_records_;
    std::array<FlowRecord, wire::v5::kMaxRecords> pending_{};
    std::size_t pending_count_{0};
    Timestamp oldest_pending_{};
    Timestamp pending_first_{};  // earliest flow start and latest flow end among pending records
    Timestamp pending_last_{};
    std::array<std::uint8_t, wire::v5::kMaxDatagramBytes> datagram_{};
    V5ExporterStats stats_{};
};

}  // namespace spanflow
