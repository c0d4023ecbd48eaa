// The collector's single entry for decoding: reads the version field every NetFlow and IPFIX
// header starts with and hands the datagram to that version's decoder.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "export/collector/decode_result.hpp"
#include "probe/core/flow_record.hpp"

namespace spanflow::collector {

// Decodes one datagram of any supported version (today v5). On ok, `records` holds its flows and
// `header` its sequence fields; otherwise `records` is empty and the status names the reason.
// v9 and IPFIX will need per-exporter template state; this then becomes a class that owns it.
[[nodiscard]] DecodeStatus decode_datagram(std::span<const std::uint8_t> datagram,
                                           DatagramHeader& header,
                                           std::vector<FlowRecord>& records);

}  // namespace spanflow::collector
