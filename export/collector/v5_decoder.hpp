// NetFlow v5 datagrams to flow records, written from the format description with only the offset
// constants of export/wire/netflow_v5.hpp in common with the encoder.
#pragma once

#include <cstdint>
#include <span>

#include "export/collector/decode_result.hpp"

namespace spanflow::collector {

// Decodes one v5 datagram whose version field has already been read as 5. On ok, its flows are
// appended to `flows` and `header` holds its sequence fields; on any other status nothing was
// decoded. Bytes after the last record are accepted and ignored: some exporters
// pad their datagrams.
[[nodiscard]] DecodeStatus decode_v5(std::span<const std::uint8_t> datagram, DatagramHeader& header,
                                     DecodedFlows& flows);

}  // namespace spanflow::collector
