// The NetFlow v5 export path: collects ended flows into datagrams of up to 30 records, numbers
// them, and hands them to the transport. IPv6 flows cannot be carried by v5: they are counted as
// skipped, never silently lost.
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
};

class V5Exporter {
  public:
    // A partly filled datagram waits at most this long (export clock) for more records.
    static constexpr Duration kMaxHold{std::chrono::seconds{1}};

    V5Exporter(UdpTransport& transport, std::uint8_t engine_type, std::uint8_t engine_id);

    // sysUptime 0: the export clock when the exporter started (replay: the first packet's time),
    // rounded down to a whole second so that sysUptime is whole-second aligned.
    void set_boot_time(Timestamp t);
    void add(const FlowRecord& r, Timestamp now);
    void poll(Timestamp now);  // sends a partial datagram that has waited kMaxHold
    void flush(Timestamp now);

    [[nodiscard]] const V5ExporterStats& stats() const { return stats_; }

  private:
    void send(Timestamp now);

    UdpTransport& transport_;
    V5Header header_{};
    std::array<FlowRecord, wire::v5::kMaxRecords> pending_{};
    std::size_t pending_count_{0};
    Timestamp oldest_pending_{};
    std::array<std::uint8_t, wire::v5::kMaxDatagramBytes> datagram_{};
    V5ExporterStats stats_{};
};

}  // namespace spanflow
