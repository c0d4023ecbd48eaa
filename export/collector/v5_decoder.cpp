#include "export/collector/v5_decoder.hpp"

#include <algorithm>

#include "export/collector/flow_times.hpp"
#include "export/wire/netflow_v5.hpp"
#include "probe/core/byte_order.hpp"

namespace spanflow::collector {

namespace v5 = wire::v5;

namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;

void copy_ipv4(std::array<std::uint8_t, 16>& to, const std::uint8_t* from) {
    std::copy(from, from + 4, to.begin());  // network order, as FlowKey keeps addresses
}

}  // namespace

DecodeStatus decode_v5(std::span<const std::uint8_t> datagram, DatagramHeader& header,
                       DecodedFlows& flows) {
    if (datagram.size() < v5::kHeaderBytes) return DecodeStatus::too_short;
    const std::uint8_t* h = datagram.data();
    if (load_be16(h + v5::header::kVersion) != v5::kVersion)
        return DecodeStatus::unsupported_version;

    const std::size_t count = load_be16(h + v5::header::kCount);
    if (count == 0 || count > v5::kMaxRecords) return DecodeStatus::bad_count;
    // count <= 30, so this cannot overflow.
    if (datagram.size() < v5::kHeaderBytes + count * v5::kRecordBytes)
        return DecodeStatus::truncated;

    const std::uint32_t sys_uptime = load_be32(h + v5::header::kSysUptime);
    // Times are rebuilt from the header's whole seconds, ignoring unix_nsecs: the probe computes
    // sysUptime from the same whole second it writes in unix_secs (SEMANTICS.md, "Export"), so
    // this gives its flow times back to the millisecond. (nfdump adds unix_nsecs / 10^6; the probe
    // writes unix_nsecs = 0, so both agree on its datagrams.) Up to 2^32 s plus a few 2^32 ms,
    // in ns, still fits in int64.
    const std::int64_t export_ms = std::int64_t{load_be32(h + v5::header::kUnixSecs)} * 1000;

    header.version = v5::kVersion;
    header.sequence = load_be32(h + v5::header::kFlowSequence);
    header.sequence_increment = static_cast<std::uint32_t>(count);
    header.domain = (std::uint32_t{h[v5::header::kEngineType]} << 8) | h[v5::header::kEngineId];

    for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t* p = h + v5::kHeaderBytes + i * v5::kRecordBytes;
        FlowRecord r{};
        r.key.ip_version = 4;
        copy_ipv4(r.key.src_addr, p + v5::record::kSrcAddr);
        copy_ipv4(r.key.dst_addr, p + v5::record::kDstAddr);
        r.key.ifindex = load_be16(p + v5::record::kInput);
        r.key.src_port = load_be16(p + v5::record::kSrcPort);
        r.key.dst_port = load_be16(p + v5::record::kDstPort);
        r.key.protocol = p[v5::record::kProtocol];
        r.key.tos = p[v5::record::kTos];
        r.packets = load_be32(p + v5::record::kPackets);
        r.bytes = load_be32(p + v5::record::kOctets);
        r.tcp_flags = p[v5::record::kTcpFlags];
        const FlowTimesMs t =
            flow_times_ms(export_ms, sys_uptime, load_be32(p + v5::record::kFirst),
                          load_be32(p + v5::record::kLast));
        r.first = Timestamp::from_ns(t.first * kNsPerMs);
        r.last = Timestamp::from_ns(t.last * kNsPerMs);
        r.end_reason = FlowEndReason::unknown;  // v5 does not carry it
        flows.add(r);
    }
    return DecodeStatus::ok;
}

}  // namespace spanflow::collector
