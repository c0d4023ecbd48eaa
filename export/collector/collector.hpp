// One datagram in, JSON lines out: decodes, tracks each exporter's sequence, formats the records
// and keeps the counts that the exit summary reports. Knows nothing of sockets or files.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "export/collector/datagram_decoder.hpp"
#include "export/collector/endpoint.hpp"
#include "export/collector/sequence_tracker.hpp"
#include "probe/core/flow_record.hpp"

namespace spanflow::collector {

struct CollectorStats {
    std::uint64_t datagrams{0};  // every datagram received, malformed ones included
    std::uint64_t records{0};    // flow records decoded and written
    std::array<std::uint64_t, kDecodeStatusCount> by_status{};  // index: DecodeStatus
    TemplateCounters templates{};  // v9 and IPFIX: options records, sets without template

    [[nodiscard]] std::uint64_t malformed() const {
        return datagrams - by_status[static_cast<std::size_t>(DecodeStatus::ok)];
    }
};

// How records are written: JSON lines (for programs) or a table (for people).
enum class OutputFormat : std::uint8_t { json, table };

class Collector {
  public:
    using Clock = std::chrono::steady_clock;

    explicit Collector(OutputFormat format = OutputFormat::json) : format_(format) {}

    // Decodes `datagram` from `exporter`, received at `now` on the collector's own clock, and
    // appends one line per flow record to `out`. A malformed datagram is counted under its status;
    // the records of its sets decoded before the problem (v9, IPFIX) are still written.
    DecodeStatus on_datagram(std::span<const std::uint8_t> datagram, const Endpoint& exporter,
                             std::string& out, Clock::time_point now);

    // Drops IPFIX sets held too long for their template; for when no datagram comes to do it.
    void expire(Clock::time_point now) { decoder_.expire(now); }

    [[nodiscard]] CollectorStats stats() const {
        CollectorStats s = stats_;
        s.templates = decoder_.counters();
        return s;
    }
    [[nodiscard]] const SequenceTracker& sequences() const { return sequences_; }
    [[nodiscard]] const DatagramDecoder& decoder() const { return decoder_; }

  private:
    OutputFormat format_;
    CollectorStats stats_{};
    DatagramDecoder decoder_{};
    SequenceTracker sequences_{};
    DecodedFlows flows_;  // reused, so a steady stream allocates nothing
};

// The exit summary, one line without prefix or newline:
// "12 datagrams, 340 records, 2 malformed (1 too short, 1 truncated), 30 lost records,
//  1 out of order, 0 kernel drops". The reasons in parentheses appear only when some are nonzero;
// the kernel drops only when the socket could report them. Options records ("4 option records"),
// held sets ("2 sets held for a template (1 released)") and dropped ones ("3 sets dropped without
// template") appear before the lost records, each only when nonzero.
[[nodiscard]] std::string format_summary(const CollectorStats& stats,
                                         const SequenceTracker& sequences,
                                         std::optional<std::uint64_t> kernel_drops);

// One line per exporter that lost records or sent out of order, without prefix or newline:
// "exporter 127.0.0.1:40000 v5 engine 0/0: 12 datagrams, 30 lost records, 1 out of order"
// ("lost datagrams" for v9, whose sequence numbers datagrams). The summary's "lost records" adds
// up each exporter's count in its own format's unit.
[[nodiscard]] std::vector<std::string> format_exporter_problems(const SequenceTracker& sequences);

}  // namespace spanflow::collector
