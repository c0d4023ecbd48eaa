// The NetFlow v5 export path: collects ended flows into datagrams of up to 30 records, numbers
// them, and hands them to the transport. IPv6 flows cannot be carried by v5: they are counted as
// skipped, never silently lost.
//
// v5 carries flow times as 32-bit milliseconds since the exporter's boot (sysUptime): see
// UptimeOrigin for how replays that span more than its window stay exact. No datagram ever mixes
// flows more than the window apart.
#pragma once

#include <array>
#include <cstdint>

#include "export/export_stats.hpp"
#include "export/netflow_v5_encoder.hpp"
#include "export/udp_transport.hpp"
#include "export/uptime_origin.hpp"

namespace spanflow {

class V5Exporter {
  public:
    // A partly filled datagram waits at most this long (export clock) for more records, unless
    // told otherwise (live capture holds less).
    static constexpr Duration kMaxHold{std::chrono::seconds{1}};

    // Datagrams stay within `max_datagram_bytes` (SEMANTICS.md: default 1400), which holds
    // (max - 24) / 48 records, and at most the format's 30.
    V5Exporter(UdpTransport& transport, std::uint8_t engine_type, std::uint8_t engine_id,
               std::size_t max_datagram_bytes, Duration max_hold = kMaxHold);

    [[nodiscard]] static std::size_t records_per_datagram(std::size_t max_datagram_bytes);

    // sysUptime 0: the export clock when the exporter started (replay: the first packet's time),
    // rounded down to a whole second so that sysUptime is whole-second aligned.
    void set_boot_time(Timestamp t);
    void add(const FlowRecord& r, Timestamp now);
    void poll(Timestamp now);  // sends a partial datagram that has waited max_hold
    void flush(Timestamp now);
    // The export path's common interface: v5 has no opening or closing message of its own.
    void set_start_time(Timestamp t) { set_boot_time(t); }
    void finish(Timestamp now) { flush(now); }

    [[nodiscard]] const ExportStats& stats() const { return stats_; }

  private:
    void send(Timestamp now);

    UdpTransport& transport_;
    Duration max_hold_;
    V5Header header_{};
    UptimeOrigin uptime_{};
    std::size_t max_records_;
    std::array<FlowRecord, wire::v5::kMaxRecords> pending_{};
    std::size_t pending_count_{0};
    Timestamp oldest_pending_{};
    Timestamp pending_first_{};  // earliest flow start and latest flow end among pending records
    Timestamp pending_last_{};
    std::array<std::uint8_t, wire::v5::kMaxDatagramBytes> datagram_{};
    ExportStats stats_{};
};

}  // namespace spanflow
