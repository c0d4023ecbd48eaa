// NetFlow v5 encoder: flow records -> one export datagram, written into the caller's buffer.
// It knows nothing of sockets or clocks: the export time and the exporter's boot time are
// arguments, so a replay encodes capture times and tests encode fixed ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "export/wire/netflow_v5.hpp"
#include "probe/core/flow_record.hpp"

namespace spanflow {

struct V5Header {
    Timestamp export_time{};         // the export clock now: packet time in replay
    Timestamp boot_time{};           // sysUptime 0; a whole second, at or before every flow's start
    std::uint32_t flow_sequence{0};  // flows this exporter sent before this datagram
    std::uint8_t engine_type{0};
    std::uint8_t engine_id{0};
};

// Encodes 1..30 IPv4 records into `out` (at least kHeaderBytes + n * kRecordBytes long) and returns
// the datagram's length. Times become sysUptime milliseconds; the header's time is a whole second
// and sysUptime is computed from it (SEMANTICS.md, "Export"), so a collector gets every flow time
// back to the millisecond. Counters must already fit 32 bits (the flow
// table splits flows before they would not).
[[nodiscard]] std::size_t encode_v5(const V5Header& header, std::span<const FlowRecord> records,
                                    std::span<std::uint8_t> out);

}  // namespace spanflow
