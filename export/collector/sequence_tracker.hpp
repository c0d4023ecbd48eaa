// Per-exporter sequence tracking: from the sequence numbers in export headers, how many records
// were lost on the way and how many datagrams arrived out of order.
//
// An exporter's stream is (source address and port, version, domain). Each datagram carries the
// sequence number its exporter had reached before it and moves it on by its increment (for v5,
// flows exported before it and its record count), so the next one is expected at
// `sequence + increment`. All arithmetic is modulo 2^32, as the counters wrap:
//
//   d = sequence - expected (mod 2^32)
//   d == 0            in order
//   0 < d < 2^31      gap: d records lost; resynchronize after this datagram
//   d >= 2^31         behind what was expected: late or restarted, never counted as loss
//
// A datagram behind the expected sequence is a late arrival when it lies inside a gap counted
// earlier: its records are taken back off the loss and the expected sequence stays. Otherwise the
// exporter restarted (or sent a duplicate): resynchronize on it. Without that distinction a simple
// swap of two datagrams would count the late one's records as lost once, then again after the
// resync. A few recent gaps are remembered per exporter; a late datagram for an older one is
// treated as a restart.
//
// A datagram may not know its own increment (IPFIX: a data set whose template has not come yet
// holds an unknown number of records). Its own sequence is still checked, but the one after it
// cannot be predicted: that one is taken as the new expected sequence, without counting loss.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "export/collector/endpoint.hpp"

namespace spanflow::collector {

struct ExporterKey {
    Endpoint source;
    std::uint16_t version{0};
    std::uint32_t domain{0};  // DatagramHeader::domain

    friend auto operator<=>(const ExporterKey&, const ExporterKey&) = default;
};

// "127.0.0.1:40000 v5 engine 1/2"; other versions name their domain field.
[[nodiscard]] std::string format_exporter(const ExporterKey& k);

enum class SequenceEvent : std::uint8_t {
    first,     // first datagram of this exporter: synchronized
    in_order,  // exactly the expected sequence
    gap,       // ahead of it: `records` records lost
    late,      // inside an earlier gap: `records` records recovered from the loss
    restart,   // behind it and not in a known gap: resynchronized, no loss counted
    resync,    // after a datagram whose increment was unknown: synchronized again, no loss counted
};

struct SequenceResult {
    SequenceEvent event{SequenceEvent::first};
    std::uint32_t records{0};
};

struct ExporterCounters {
    std::uint64_t datagrams{0};
    std::uint64_t lost_records{0};  // net of late arrivals
    std::uint64_t out_of_order{0};  // late arrivals and restarts
};

class SequenceTracker {
  public:
    // Gaps remembered per exporter for late arrivals. UDP reordering spans a few datagrams, and a
    // gap splits at most in two per late datagram, so a handful covers it.
    static constexpr std::size_t kRememberedGaps = 8;

    struct Gap {
        std::uint32_t start{0};
        std::uint32_t length{0};  // 0: slot free
    };

    struct ExporterState {
        std::uint32_t expected{0};
        std::array<Gap, kRememberedGaps> gaps{};
        std::size_t next_gap{0};  // slot the next gap replaces when none is free
        bool resync_next{false};  // the previous datagram's increment was unknown
        ExporterCounters counters{};
    };

    // Exporter streams tracked at most: a sender that invents a new domain in every datagram must
    // not grow the collector without end. Datagrams of streams past the bound are decoded, not
    // tracked, and counted.
    static constexpr std::size_t kMaxExporters = 1 << 16;

    // Accounts one datagram of `exporter` whose header was read. With `increment_unknown`, the
    // next datagram resynchronizes instead of being compared with `sequence + increment`.
    SequenceResult observe(const ExporterKey& exporter, std::uint32_t sequence,
                           std::uint32_t increment, bool increment_unknown = false);

    [[nodiscard]] std::uint64_t lost_records() const { return lost_records_; }
    [[nodiscard]] std::uint64_t out_of_order() const { return out_of_order_; }
    [[nodiscard]] std::uint64_t untracked() const { return untracked_; }
    [[nodiscard]] const std::map<ExporterKey, ExporterState>& exporters() const {
        return exporters_;
    }

  private:
    SequenceResult compare(ExporterState& s, std::uint32_t sequence, std::uint32_t increment);

    // Few exporters, looked up once per datagram: an ordered map is plenty.
    std::map<ExporterKey, ExporterState> exporters_;
    std::uint64_t lost_records_{0};
    std::uint64_t out_of_order_{0};
    std::uint64_t untracked_{0};
};

}  // namespace spanflow::collector
