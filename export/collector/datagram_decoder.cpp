#include "export/collector/datagram_decoder.hpp"

#include "export/collector/v5_decoder.hpp"
#include "export/wire/netflow_v5.hpp"
#include "probe/core/byte_order.hpp"

namespace spanflow::collector {

namespace {
// Every version shares only this: a 16-bit version number at offset 0.
constexpr std::size_t kVersionFieldBytes = 2;
}  // namespace

DecodeStatus decode_datagram(std::span<const std::uint8_t> datagram, DatagramHeader& header,
                             std::vector<FlowRecord>& records) {
    records.clear();
    if (datagram.size() < kVersionFieldBytes) return DecodeStatus::too_short;
    switch (load_be16(datagram.data())) {
        case wire::v5::kVersion:
            return decode_v5(datagram, header, records);
        // v9 (9) and IPFIX (10) plug in here.
        default:
            return DecodeStatus::unsupported_version;
    }
}

}  // namespace spanflow::collector
