#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "bench/flood_traffic.hpp"
#include "probe/flow/flow_shard.hpp"

using spanflow::FlowEndReason;
using spanflow::FlowRecord;
using spanflow::FlowShard;
using spanflow::FlowShardConfig;
using spanflow::PacketMeta;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

PacketMeta packet(std::uint16_t sport, double t_sec, std::uint8_t flags = 0,
                  std::uint32_t bytes = 100) {
    PacketMeta m;
    m.key.ip_version = 4;
    m.key.src_addr = {10, 0, 0, 1};
    m.key.dst_addr = {10, 0, 0, 2};
    m.key.protocol = 6;
    m.key.src_port = sport;
    m.key.dst_port = 80;
    m.l3_bytes = bytes;
    m.tcp_flags = flags;
    m.ts = spanflow::Timestamp::from_ns(static_cast<std::int64_t>(t_sec * kSec));
    m.clock = m.ts;
    return m;
}

// Feeds packets one at a time with a running packet clock, as the decoder stamps them.
struct Harness {
    explicit Harness(FlowShardConfig c = {}) : shard(c) {}
    void add(PacketMeta m) {
        if (m.ts > clock) clock = m.ts;
        m.clock = clock;
        shard.update(&m, 1, [this](const FlowRecord& r) { ended.push_back(r); });
    }
    void sweep(double t_sec) {
        clock =
            std::max(clock, spanflow::Timestamp::from_ns(static_cast<std::int64_t>(t_sec * kSec)));
        shard.expire_due(clock, [this](const FlowRecord& r) { ended.push_back(r); });
    }
    void finish() {
        shard.expire_all(FlowEndReason::forced,
                         [this](const FlowRecord& r) { ended.push_back(r); });
    }
    FlowShard shard;
    spanflow::Timestamp clock{};
    std::vector<FlowRecord> ended;
};

}  // namespace

TEST_SUITE("flow") {
    TEST_CASE("a flood of one-packet flows does not split established flows") {
        // bench/flood_traffic.hpp at a tenth of BM_FloodAmongLongFlows' size: a 10K table, 1K
        // long flows, a packet each every 100 ms, among 1M one-packet flows, 990K a second,
        // which turn the table over every 10 ms.
        spanflow::FlowShardConfig config;
        config.max_flows = 10'000;
        spanflow::FlowShard shard(config);
        const spanflow::bench::FloodResult r = spanflow::bench::run_flood(shard, 1'000, 1'000'000);
        CHECK(r.evicted > 900'000);  // the flood filled the table over and over
        CHECK(shard.stats().evicted_table_full == r.evicted);
        CHECK(shard.stats().evicted_probation == r.evicted);  // each time a one-packet flow went
        CHECK(r.long_split * 100 < r.long_flows);             // under 1% of the long flows split
        MESSAGE("long flows split: ", r.long_split, " of ", r.long_flows);
    }

    TEST_CASE("packets of one key add up into one flow, ended by force at the end") {
        Harness h;
        h.add(packet(1, 1.0, 0x02, 60));
        h.add(packet(1, 2.5, 0x10, 40));
        h.add(packet(2, 3.0));
        CHECK(h.shard.size() == 2);
        h.finish();
        REQUIRE(h.ended.size() == 2);
        const FlowRecord& r = h.ended[0];
        CHECK(r.key.src_port == 1);
        CHECK(r.packets == 2);
        CHECK(r.bytes == 100);
        CHECK(r.tcp_flags == 0x12);
        CHECK(r.first.ns == 1 * kSec);
        CHECK(r.last.ns == 2'500'000'000);
        CHECK(r.end_reason == FlowEndReason::forced);
        CHECK(h.shard.size() == 0);
    }

    TEST_CASE("a flow idle for the inactive timeout ends (reason 1), on arrival and by sweep") {
        SUBCASE("a packet after the gap starts a new flow") {
            Harness h;
            h.add(packet(1, 0.0));
            h.add(packet(1, 14.9));
            h.add(packet(1, 29.9));  // exactly 15 s idle: the deadline is reached
            REQUIRE(h.ended.size() == 1);
            CHECK(h.ended[0].end_reason == FlowEndReason::idle);
            CHECK(h.ended[0].packets == 2);
        }
        SUBCASE("the sweep ends it without a packet of its own") {
            Harness h;
            h.add(packet(1, 0.0));
            h.sweep(14.0);
            CHECK(h.ended.empty());
            h.sweep(15.0);
            REQUIRE(h.ended.size() == 1);
            CHECK(h.ended[0].end_reason == FlowEndReason::idle);
        }
    }

    TEST_CASE("a flow ends at the active timeout after its first packet (reason 2)") {
        FlowShardConfig c;
        c.timeouts.active = 30s;
        Harness h(c);
        for (int t = 0; t <= 65; t += 5) h.add(packet(1, t));
        h.finish();
        REQUIRE(h.ended.size() == 3);
        CHECK(h.ended[0].end_reason == FlowEndReason::active);
        CHECK(h.ended[0].packets == 6);  // 0..25; the packet at 30 starts the next flow
        CHECK(h.ended[1].end_reason == FlowEndReason::active);
        CHECK(h.ended[1].first.ns == 30 * kSec);
        CHECK(h.ended[2].end_reason == FlowEndReason::forced);
    }

    TEST_CASE("after FIN or RST the idle timeout shrinks to tcp-end (reason 3)") {
        for (std::uint8_t end_flag : {std::uint8_t{0x01}, std::uint8_t{0x04}}) {
            Harness h;
            h.add(packet(1, 0.0, 0x02));
            h.add(packet(1, 1.0, end_flag));
            h.add(packet(1, 5.0, 0x10));   // 4 s later: still the same flow
            h.add(packet(1, 10.0, 0x10));  // 5 s after the last: ended
            REQUIRE(h.ended.size() == 1);
            CHECK(h.ended[0].end_reason == FlowEndReason::end_of_flow);
            CHECK(h.ended[0].packets == 3);
        }
    }

    TEST_CASE("a SYN on a flow that has seen FIN ends it at once and starts a new one") {
        Harness h;
        h.add(packet(1, 0.0, 0x02));
        h.add(packet(1, 0.1, 0x11));
        h.add(packet(1, 0.2, 0x02));
        REQUIRE(h.ended.size() == 1);
        CHECK(h.ended[0].end_reason == FlowEndReason::end_of_flow);
        CHECK(h.ended[0].tcp_flags == 0x13);
        h.finish();
        CHECK(h.ended[1].tcp_flags == 0x02);
        CHECK(h.ended[1].packets == 1);
    }

    TEST_CASE("a SYN on a flow without FIN or RST joins it") {
        Harness h;
        h.add(packet(1, 0.0, 0x02));
        h.add(packet(1, 0.1, 0x02));
        CHECK(h.ended.empty());
    }

    TEST_CASE("a full table evicts the flow nearest its idle timeout (reason 5)") {
        FlowShardConfig c;
        c.max_flows = 2;
        Harness h(c);
        h.add(packet(1, 0.0));
        h.add(packet(2, 1.0));
        h.add(packet(1, 2.0));  // flow 2 is now the least recently updated
        h.add(packet(3, 3.0));
        REQUIRE(h.ended.size() == 1);
        CHECK(h.ended[0].key.src_port == 2);
        CHECK(h.ended[0].end_reason == FlowEndReason::lack_of_resources);
        CHECK(h.shard.stats().evicted_table_full == 1);
        CHECK(h.shard.size() == 2);
    }

    TEST_CASE("a full table ends a timed-out flow before it evicts a live one") {
        FlowShardConfig c;
        c.max_flows = 2;
        Harness h(c);
        h.add(packet(1, 0.0));
        h.add(packet(2, 10.0));
        h.add(packet(3, 16.0));  // flow 1 has been idle 16 s
        REQUIRE(h.ended.size() == 1);
        CHECK(h.ended[0].key.src_port == 1);
        CHECK(h.ended[0].end_reason == FlowEndReason::idle);
        CHECK(h.shard.stats().evicted_table_full == 0);
    }

    TEST_CASE("a flow whose counter would pass the export format's limit is split (reason 5)") {
        FlowShardConfig c;
        c.max_bytes = 0xFFFF'FFFFull;  // NetFlow v5's 32-bit dOctets
        Harness h(c);
        const std::uint64_t per_packet = 65535;
        const std::uint64_t fit = c.max_bytes / per_packet;  // packets that still fit
        for (std::uint64_t i = 0; i <= fit; ++i)
            h.add(packet(1, 1.0 + static_cast<double>(i) * 1e-6, 0, per_packet));
        REQUIRE(h.ended.size() == 1);
        CHECK(h.ended[0].end_reason == FlowEndReason::lack_of_resources);
        CHECK(h.ended[0].packets == fit);
        CHECK(h.ended[0].bytes <= c.max_bytes);
        CHECK(h.shard.stats().evicted_table_full == 0);
    }

    TEST_CASE("packets back in time widen the flow, but never past the active timeout") {
        Harness h;
        h.add(packet(1, 100.0));
        h.add(packet(1, 99.0));
        CHECK(h.ended.empty());
        h.add(packet(1, 100.0 - 1800.0));  // would stretch the flow to 1800 s
        REQUIRE(h.ended.size() == 1);
        CHECK(h.ended[0].end_reason == FlowEndReason::active);
        CHECK(h.ended[0].first.ns == 99 * kSec);
        CHECK(h.ended[0].last.ns == 100 * kSec);
    }

    TEST_CASE("deadlines run on the packet clock, not on a late packet's own time") {
        Harness h;
        h.add(packet(1, 100.0));
        h.add(packet(2, 50.0));  // late: the clock stays at 100, so flow 2 was touched at 100
        h.add(packet(3, 101.0));
        h.sweep(114.9);
        CHECK(h.ended.empty());
        h.sweep(115.0);  // 15 s after the clock at flows 1 and 2: both end, flow 3 does not
        REQUIRE(h.ended.size() == 2);
        CHECK(h.ended[0].end_reason == FlowEndReason::idle);
        CHECK(h.ended[1].key.src_port == 2);
        CHECK(h.ended[1].first.ns == 50 * kSec);  // exported times are the packets' own
    }

    TEST_CASE("the sweep and the arrival check give the same flows whatever the sweep's schedule") {
        std::mt19937 rng(7);
        std::vector<PacketMeta> packets;
        double t = 0;
        for (int i = 0; i < 5000; ++i) {
            t += std::uniform_real_distribution<double>(0, 0.05)(rng);
            std::uint8_t flags = (i % 97 == 0) ? 0x01 : (i % 89 == 0 ? 0x02 : 0x10);
            packets.push_back(packet(static_cast<std::uint16_t>(rng() % 40), t, flags));
            if (i % 1000 == 999) t += 20;  // a gap that idles every flow out
        }
        auto run = [&](int sweep_every) {
            Harness h;
            for (std::size_t i = 0; i < packets.size(); ++i) {
                h.add(packets[i]);
                if (sweep_every && i % sweep_every == 0) h.sweep(0);
            }
            h.finish();
            std::multiset<std::tuple<int, std::int64_t, std::int64_t, std::uint64_t, int>> out;
            for (auto& r : h.ended)
                out.insert({r.key.src_port, r.first.ns, r.last.ns, r.packets,
                            static_cast<int>(r.end_reason)});
            return out;
        };
        auto never = run(0);
        CHECK(never == run(1));
        CHECK(never == run(37));
    }

    TEST_CASE("the index finds every live flow through inserts and deletions") {
        FlowShardConfig c;
        c.max_flows = 64;
        c.timeouts.inactive = 3s;
        Harness h(c);
        std::mt19937 rng(1);
        std::map<std::uint16_t, std::uint64_t> expected_packets;  // across all flows of a key
        for (int i = 0; i < 20000; ++i) {
            auto port = static_cast<std::uint16_t>(rng() % 200);
            h.add(packet(port, i * 0.01));
            ++expected_packets[port];
            CHECK(h.shard.size() <= 64);
        }
        h.finish();
        std::map<std::uint16_t, std::uint64_t> got;
        for (auto& r : h.ended) got[r.key.src_port] += r.packets;
        CHECK(got == expected_packets);
        CHECK(h.shard.stats().flows_created == h.ended.size());
    }
}
