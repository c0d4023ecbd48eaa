#include "probe/runtime/pipeline.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "probe/core/flow_json.hpp"
#include "tests/unit/synthetic_traffic.hpp"

using namespace spanflow;

namespace {

// Collects what the exporter thread hands out, and checks the RecordSink contract as it goes.
class CollectingSink final : public RecordSink {
  public:
    void start(Timestamp first_packet) override {
        ++starts;
        first = first_packet;
        if (!lines.empty() || finishes != 0) ++contract_errors;
    }
    void records(const FlowRecord* r, std::size_t n, Timestamp now) override {
        if (now < last_now) ++contract_errors;  // the exporter clock never goes back
        if (n != 0 && starts == 0) ++contract_errors;
        last_now = now;
        for (std::size_t i = 0; i < n; ++i) {
            std::string line;
            append_flow_json(line, r[i]);
            lines.push_back(std::move(line));
        }
    }
    void finish(Timestamp now) override {
        ++finishes;
        if (now < last_now) ++contract_errors;
    }

    std::vector<std::string> sorted() const {
        std::vector<std::string> out = lines;
        std::sort(out.begin(), out.end());
        return out;
    }

    std::vector<std::string> lines;
    Timestamp first{}, last_now{};
    int starts{0}, finishes{0}, contract_errors{0};
};

FlowShardConfig shard_config(std::uint32_t max_flows) {
    FlowShardConfig c;
    c.max_flows = max_flows;
    c.timeouts.active = std::chrono::seconds{30};
    c.timeouts.inactive = std::chrono::seconds{5};
    c.timeouts.tcp_end = std::chrono::seconds{2};
    return c;
}

// What one FlowShard makes of the traffic, fed directly, with no threads: the reference.
std::vector<std::string> reference(const std::vector<PacketMeta>& metas, std::uint32_t max_flows) {
    FlowShard shard(shard_config(max_flows));
    std::vector<std::string> lines;
    auto emit = [&](const FlowRecord& r) {
        std::string line;
        append_flow_json(line, r);
        lines.push_back(std::move(line));
    };
    for (std::size_t i = 0; i < metas.size(); i += kBatchSize) {
        std::size_t n = std::min(kBatchSize, metas.size() - i);
        shard.update(metas.data() + i, n, emit);
        shard.sweep(metas[i + n - 1].clock, kSweepPerBatch, emit);
    }
    shard.expire_due(metas.back().clock, emit);
    shard.expire_all(FlowEndReason::forced, emit);
    std::sort(lines.begin(), lines.end());
    return lines;
}

// Feeds the traffic through a pipeline the way the capture thread does: 32 packets at a time
// with the clock after them.
void feed(Pipeline& pipeline, const std::vector<PacketMeta>& metas) {
    PacketClock clock;
    for (std::size_t i = 0; i < metas.size(); i += kBatchSize) {
        std::size_t n = std::min(kBatchSize, metas.size() - i);
        for (std::size_t j = 0; j < n; ++j) clock.observe(metas[i + j].ts);
        pipeline.dispatch(metas.data() + i, n, clock);
    }
    pipeline.finish(clock);
}

}  // namespace

TEST_SUITE("pipeline") {
    TEST_CASE("shard_of spreads hashes over every shard and stays in range") {
        for (unsigned shards : {1u, 2u, 3u, 8u, 15u}) {
            std::vector<std::size_t> count(shards, 0);
            for (std::uint64_t i = 0; i < 100'000; ++i) {
                FlowKey k;
                k.src_port = static_cast<std::uint16_t>(i);
                k.dst_port = static_cast<std::uint16_t>(i >> 16);
                unsigned s = Pipeline::shard_of(hash_key(k), shards);
                REQUIRE(s < shards);
                ++count[s];
            }
            for (std::size_t c : count) CHECK(c > 100'000 / shards * 9 / 10);
        }
    }

    // The determinism rule, under ThreadSanitizer in CI: whatever the worker count and ring size,
    // the pipeline ends the same flows, field for field, as one table fed directly.
    TEST_CASE("stress: same records as one table, for 1, 2, 3 and 8 workers and any ring size") {
        const auto metas = test::synthetic_traffic(60'000, 3'000, 7);
        const auto expected = reference(metas, 1u << 16);
        REQUIRE(expected.size() > 3'000);  // flows time out and restart, not only end at EOF
        for (unsigned workers : {1u, 2u, 3u, 8u}) {
            for (std::size_t ring : {1u, 2u, 256u}) {
                CAPTURE(workers);
                CAPTURE(ring);
                PipelineConfig config;
                config.workers = workers;
                config.ring_slots = ring;
                config.shard = shard_config(1u << 16);
                CollectingSink sink;
                {
                    Pipeline pipeline(config, sink);
                    pipeline.start();
                    feed(pipeline, metas);
                    pipeline.join();
                    FlowShardStats s = pipeline.flow_stats();
                    CHECK(s.packets == metas.size());
                    CHECK(s.flows_created == expected.size());
                    CHECK(pipeline.dispatch_stats().dropped_ring_full == 0);
                }
                CHECK(sink.starts == 1);
                CHECK(sink.finishes == 1);
                CHECK(sink.contract_errors == 0);
                CHECK(sink.first == metas.front().ts);
                CHECK(sink.sorted() == expected);
            }
        }
    }

    TEST_CASE("a live pipeline never waits: what a full ring cannot take is counted") {
        const auto metas = test::synthetic_traffic(100'000, 50'000, 11);
        PipelineConfig config;
        config.workers = 2;
        config.ring_slots = 1;
        config.lossless = false;
        config.shard = shard_config(1u << 17);
        CollectingSink sink;
        Pipeline pipeline(config, sink);
        pipeline.start();
        PacketClock clock;
        for (std::size_t i = 0; i < metas.size(); i += kBatchSize) {
            std::size_t n = std::min(kBatchSize, metas.size() - i);
            for (std::size_t j = 0; j < n; ++j) clock.observe(metas[i + j].ts);
            pipeline.dispatch(metas.data() + i, n, clock);
        }
        CHECK(pipeline.dispatch_stats().waits_ring_full == 0);  // only the end of input waits
        pipeline.finish(clock);
        pipeline.join();
        FlowShardStats s = pipeline.flow_stats();
        // Every packet is either in a flow or counted as dropped: none vanishes.
        CHECK(s.packets + pipeline.dispatch_stats().dropped_ring_full == metas.size());
        std::uint64_t ended = 0;
        for (auto n : s.flows_ended) ended += n;
        CHECK(ended == s.flows_created);
        CHECK(sink.lines.size() == ended);
        CHECK(sink.finishes == 1);
    }

    TEST_CASE("no packets: the exporter still finishes, with no start and no records") {
        PipelineConfig config;
        config.workers = 3;
        CollectingSink sink;
        Pipeline pipeline(config, sink);
        pipeline.start();
        pipeline.finish(PacketClock{});
        pipeline.join();
        CHECK(sink.starts == 0);
        CHECK(sink.finishes == 1);
        CHECK(sink.lines.empty());
    }

    TEST_CASE("--max-flows is split between the workers") {
        PipelineConfig config;
        config.workers = 3;
        config.shard = shard_config(10);
        CollectingSink sink;
        Pipeline pipeline(config, sink);
        // 12 flows, each shard holds ceil(10 / 3) = 4; no more than 12 live at once.
        std::vector<PacketMeta> metas(12);
        PacketClock clock;
        for (std::size_t i = 0; i < metas.size(); ++i) {
            metas[i].key.ip_version = 4;
            metas[i].key.src_port = static_cast<std::uint16_t>(i);
            metas[i].ts = Timestamp::from_ns(1'000'000'000);
            clock.observe(metas[i].ts);
            metas[i].clock = clock.now();
        }
        pipeline.start();
        pipeline.dispatch(metas.data(), metas.size(), clock);
        pipeline.finish(clock);
        pipeline.join();
        std::vector<std::uint64_t> per_shard(3, 0);
        for (const PacketMeta& m : metas) ++per_shard[Pipeline::shard_of(hash_key(m.key), 3)];
        std::uint64_t over = 0;
        for (std::uint64_t n : per_shard) over += n > 4 ? n - 4 : 0;
        FlowShardStats s = pipeline.flow_stats();
        CHECK(s.flows_created == 12);
        CHECK(s.evicted_table_full == over);
        CHECK(s.flows_ended[static_cast<std::size_t>(FlowEndReason::forced)] == 12 - over);
    }
}
