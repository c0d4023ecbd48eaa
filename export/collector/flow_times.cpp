#include "export/collector/flow_times.hpp"

#include <limits>

namespace spanflow::collector {

namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerSec = 1'000'000'000;
// sysUptime is a 32-bit millisecond counter: exporters that run long enough wrap it.
constexpr std::int64_t kUptimeWrapMs = std::int64_t{1} << 32;
// Cisco IOS (bug CSCei12353) can stamp Last up to this far past the header's sysUptime without any
// wrap; only a larger lead means the flow ended before the counter wrapped. nfdump's threshold.
constexpr std::int64_t kLastLeadToleranceMs = 100'000;
constexpr std::uint64_t kMaxMs = std::numeric_limits<std::int64_t>::max() / kNsPerMs;
// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
constexpr std::int64_t kNtpToUnixSec = 2'208'988'800;

}  // namespace

FlowTimesMs flow_times_ms(std::int64_t export_ms, std::uint32_t sys_uptime, std::uint32_t first,
                          std::uint32_t last) {
    const std::int64_t boot_ms = export_ms - sys_uptime;
    FlowTimesMs t{boot_ms + first, boot_ms + last};
    if (first > last) t.first -= kUptimeWrapMs;
    if (std::int64_t{last} - sys_uptime > kLastLeadToleranceMs) {
        t.first -= kUptimeWrapMs;
        t.last -= kUptimeWrapMs;
    }
    return t;
}

Timestamp timestamp_from_ms(std::uint64_t ms) {
    return Timestamp::from_ns(static_cast<std::int64_t>(ms < kMaxMs ? ms : kMaxMs) * kNsPerMs);
}

Timestamp timestamp_from_ntp(std::uint64_t ntp) {
    const std::int64_t unix_sec = static_cast<std::int64_t>(ntp >> 32) - kNtpToUnixSec;
    // The fraction times 10^9 fits in 64 bits: 2^32 * 10^9 < 2^62.
    const auto frac_ns = static_cast<std::int64_t>(((ntp & 0xFFFF'FFFFull) * kNsPerSec) >> 32);
    return Timestamp::from_sec_frac(unix_sec, frac_ns);
}

}  // namespace spanflow::collector
