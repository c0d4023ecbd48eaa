// The data records of one v9 or IPFIX data set, read through their template: the elements
// spanflow knows go into a FlowRecord, other IANA elements become numbered JSON members beside it,
// enterprise elements are skipped by their length.
#pragma once

#include <cstdint>
#include <span>

#include "export/collector/decode_result.hpp"
#include "export/collector/template_cache.hpp"

namespace spanflow::collector {

// What a message header gives its records to place relative times.
struct RecordContext {
    std::int64_t export_ms{0};
    std::uint32_t sys_uptime_ms{0};
    // v9 only: IPFIX has no sysUptime in its header, so there IEs 21/22 are left numbered.
    bool has_sys_uptime{false};
};

struct DataSetResult {
    DecodeStatus status{DecodeStatus::ok};
    std::uint32_t records{0};  // records decoded, options records included
};

// Decodes the records of a data set body (the set header excluded) through `t`, appending flow
// records to `flows`; options records are only counted. Space after the last record smaller than
// the template's shortest record is padding. A record that runs past the body ends the set with
// bad_record; the records before it are kept.
[[nodiscard]] DataSetResult decode_data_set(const Template& t, std::span<const std::uint8_t> body,
                                            const RecordContext& context, DecodedFlows& flows);

}  // namespace spanflow::collector
