// A flood among established flows, for the flow table's eviction (issue 12): long flows, each
// seen twice before the flood starts and then one packet in 100 in turn (every second with 10K
// long flows: a quiet session, a keepalive), among a flood of one-packet flows (a SYN flood, a
// scan), 1M packets a second in all, into a table the flood turns over far faster than that. What
// matters is how many long flows the table splits: a long flow evicted and started again is two
// records where there should be one. Used by bench BM_FloodAmongLongFlows (the full size) and by
// the flow table's unit test (a smaller one). Header-only, the FlowShard API alone, so that the
// same code measures an older table too.
#pragma once

#include <cstdint>
#include <vector>

#include "probe/core/packet_meta.hpp"
#include "probe/core/packet_view.hpp"
#include "probe/flow/flow_shard.hpp"

namespace spanflow::bench {

struct FloodResult {
    std::uint64_t long_flows{0};
    std::uint64_t long_split{0};  // long flows exported more than once (evicted, restarted)
    std::uint64_t evicted{0};     // flows evicted in all
    std::uint64_t packets{0};
};

// Runs the scenario through `shard` (configured by the caller: its size is the table's).
inline FloodResult run_flood(FlowShard& shard, std::uint32_t long_flows, std::uint64_t flood) {
    constexpr std::int64_t kStart = 1'700'000'000'000'000'000;
    constexpr std::int64_t kPacketNs = 1000;            // 1M packets a second in all
    constexpr std::uint32_t kLongEvery = 100;           // every 100th packet is a long flow's
    std::vector<std::uint32_t> records(long_flows, 0);  // records exported per long flow
    FloodResult result;
    result.long_flows = long_flows;
    auto emit = [&](const FlowRecord& r) {
        if (r.end_reason == FlowEndReason::lack_of_resources) ++result.evicted;
        if (r.key.dst_port == 443)
            ++records[r.key.src_port + (std::uint32_t{r.key.src_addr[3]} << 16)];
    };
    auto long_packet = [](std::uint32_t i, std::int64_t t) {
        PacketMeta m;
        m.key.ip_version = 4;
        m.key.protocol = kProtoTcp;
        m.key.src_addr = {10, 0, 0, static_cast<std::uint8_t>(i >> 16)};
        m.key.dst_addr = {192, 0, 2, 1};
        m.key.src_port = static_cast<std::uint16_t>(i);
        m.key.dst_port = 443;
        m.l3_bytes = 1500;
        m.tcp_flags = 0x10;
        m.ts = m.clock = Timestamp::from_ns(t);
        return m;
    };
    auto flood_packet = [](std::uint64_t k, std::int64_t t) {
        PacketMeta m;
        m.key.ip_version = 4;
        m.key.protocol = kProtoTcp;
        m.key.src_addr = {172, static_cast<std::uint8_t>(k >> 24),
                          static_cast<std::uint8_t>(k >> 16), static_cast<std::uint8_t>(k >> 8)};
        m.key.dst_addr = {192, 0, 2, 1};
        m.key.src_port = static_cast<std::uint16_t>(1024 + (k & 0xFF));
        m.key.dst_port = 80;
        m.l3_bytes = 40;
        m.tcp_flags = kTcpSyn;
        m.ts = m.clock = Timestamp::from_ns(t);
        return m;
    };
    PacketMeta batch[kBatchSize];
    std::size_t n = 0;
    std::int64_t t = kStart;
    auto push = [&](const PacketMeta& m) {
        batch[n++] = m;
        if (n == kBatchSize) {
            shard.update(batch, n, emit);
            (void)shard.sweep(batch[n - 1].clock, kSweepPerBatch, emit);
            result.packets += n;
            n = 0;
        }
    };
    // The long flows are established: two packets each, 1 ms apart, before the flood.
    for (int round = 0; round < 2; ++round) {
        for (std::uint32_t i = 0; i < long_flows; ++i) push(long_packet(i, t += kPacketNs));
    }
    std::uint32_t next_long = 0;
    std::uint64_t sent = 0;
    for (std::uint64_t p = 0; sent < flood; ++p) {
        t += kPacketNs;
        if (p % kLongEvery == 0) {
            push(long_packet(next_long, t));
            next_long = next_long + 1 == long_flows ? 0 : next_long + 1;
        } else {
            push(flood_packet(sent++, t));
        }
    }
    if (n != 0) {
        shard.update(batch, n, emit);
        result.packets += n;
    }
    shard.expire_all(FlowEndReason::forced, emit);
    for (std::uint32_t c : records) result.long_split += c > 1 ? 1 : 0;
    return result;
}

}  // namespace spanflow::bench
