// Flow times as export formats carry them, turned into absolute Timestamps: relative to the
// exporter's uptime (v5, v9) or absolute in milliseconds or NTP format (IPFIX).
#pragma once

#include <cstdint>

#include "probe/core/timestamp.hpp"

namespace spanflow::collector {

struct FlowTimesMs {
    std::int64_t first;
    std::int64_t last;
};

// Absolute flow times in ms since the epoch from sysUptime-relative First and Last, by nfdump's
// rule so that the two collectors agree to the millisecond: boot_ms = export_ms - sysUptime,
// first = boot_ms + First, last = boot_ms + Last; then, for an exporter whose uptime wrapped,
// First > Last means the flow started before the wrap, and Last far ahead of sysUptime means the
// whole flow came before it. The probe never wraps (it moves its boot time forward instead), so
// for its datagrams only the plain formula applies.
[[nodiscard]] FlowTimesMs flow_times_ms(std::int64_t export_ms, std::uint32_t sys_uptime,
                                        std::uint32_t first, std::uint32_t last);

// Milliseconds since the epoch as a Timestamp; values past what nanoseconds in int64 hold (the
// year 2262) are clamped, so a hostile field cannot overflow.
[[nodiscard]] Timestamp timestamp_from_ms(std::uint64_t ms);

// An NTP-format time (RFC 7011 section 6.1.9/6.1.10: seconds since 1900 in the high 32 bits, a
// binary fraction of a second in the low 32) as a Timestamp.
[[nodiscard]] Timestamp timestamp_from_ntp(std::uint64_t ntp);

}  // namespace spanflow::collector
