#include "export/netflow_v5_encoder.hpp"

#include <algorithm>
#include <cstring>

#include "probe/core/byte_order.hpp"

namespace spanflow {
namespace {

// Milliseconds since boot as the 32-bit sysUptime fields carry them; a time before boot (a
// capture whose clock went backwards) is clamped to boot rather than wrapped.
std::uint32_t uptime_ms(std::int64_t ms, std::int64_t boot_ms) {
    std::int64_t d = std::max<std::int64_t>(ms - boot_ms, 0);
    return static_cast<std::uint32_t>(d);
}

}  // namespace

std::size_t encode_v5(const V5Header& h, std::span<const FlowRecord> records,
                      std::span<std::uint8_t> out) {
    namespace hdr = wire::v5::header;
    namespace rec = wire::v5::record;
    const std::size_t n = std::min(records.size(), wire::v5::kMaxRecords);
    const std::size_t length = wire::v5::kHeaderBytes + n * wire::v5::kRecordBytes;
    if (n == 0 || out.size() < length) return 0;
    std::uint8_t* p = out.data();
    std::memset(p, 0, length);

    // The header carries a whole second (unix_nsecs = 0), rounded up so that sysUptime is never
    // below a record's Last. Collectors rebuild absolute times either from unix_secs alone
    // (SEMANTICS.md) or from unix_secs + unix_nsecs (nfdump); with nsecs 0 both give boot_ms
    // exactly, and so every flow time to the millisecond.
    const std::int64_t boot_ms = h.boot_time.ms();
    const std::int64_t unix_secs = h.export_time.sec() + (h.export_time.subsec_ns() != 0 ? 1 : 0);
    store_be16(p + hdr::kVersion, wire::v5::kVersion);
    store_be16(p + hdr::kCount, static_cast<std::uint16_t>(n));
    store_be32(p + hdr::kSysUptime, uptime_ms(unix_secs * 1000, boot_ms));
    store_be32(p + hdr::kUnixSecs, static_cast<std::uint32_t>(unix_secs));
    // unix_nsecs stays 0 (see above).
    store_be32(p + hdr::kFlowSequence, h.flow_sequence);
    p[hdr::kEngineType] = h.engine_type;
    p[hdr::kEngineId] = h.engine_id;
    // sampling_interval stays 0: every packet is seen.

    std::uint8_t* r = p + wire::v5::kHeaderBytes;
    for (std::size_t i = 0; i < n; ++i, r += wire::v5::kRecordBytes) {
        const FlowRecord& f = records[i];
        std::memcpy(r + rec::kSrcAddr, f.key.src_addr.data(), 4);
        std::memcpy(r + rec::kDstAddr, f.key.dst_addr.data(), 4);
        store_be16(r + rec::kInput,
                   static_cast<std::uint16_t>(std::min(f.key.ifindex, wire::v5::kMaxIfIndex)));
        store_be32(r + rec::kPackets, static_cast<std::uint32_t>(f.packets));
        store_be32(r + rec::kOctets, static_cast<std::uint32_t>(f.bytes));
        store_be32(r + rec::kFirst, uptime_ms(f.first.ms(), boot_ms));
        store_be32(r + rec::kLast, uptime_ms(f.last.ms(), boot_ms));
        store_be16(r + rec::kSrcPort, f.key.src_port);
        store_be16(r + rec::kDstPort, f.key.dst_port);
        r[rec::kTcpFlags] = f.tcp_flags;
        r[rec::kProtocol] = f.key.protocol;
        r[rec::kTos] = f.key.tos;
    }
    return length;
}

}  // namespace spanflow
