// Flow-table update rate: decoded 64-byte TCP packets over N live flows, chosen uniformly at
// random, through FlowShard::update in batches of 32. No flow expires during the run (all
// packets fall within one second), so this is the lookup-and-update path alone.
//   1K flows: the table fits in L1/L2 (cache-resident).
//   1M flows: the table (~130 MB) is far beyond the caches, so nearly every lookup misses.
// Each size runs with the staged prefetch on (the default) and off, to show what it buys.
#include <benchmark/benchmark.h>

#include <memory>

#include "bench/flood_traffic.hpp"
#include "bench/traffic.hpp"
#include "probe/decode/decoder.hpp"
#include "probe/flow/flow_shard.hpp"

namespace {

void BM_FlowTableUpdate(benchmark::State& state) {
    const auto flows = static_cast<std::size_t>(state.range(0));
    const bool prefetch = state.range(1) != 0;
    const std::size_t packets = std::max<std::size_t>(flows * 4, 1 << 16);

    // Decode once up front; the benchmark loop measures the table alone.
    auto frames = spanflow::bench::make_frames(flows, packets);
    std::vector<spanflow::PacketMeta> metas(packets);
    for (std::size_t i = 0; i < packets; ++i) {
        spanflow::PacketView v;
        v.data = frames.data() + i * spanflow::bench::kFrameBytes;
        v.captured_bytes = v.wire_bytes = spanflow::bench::kFrameBytes;
        v.ts = spanflow::Timestamp::from_ns(1'000'000'000 + static_cast<std::int64_t>(i));
        (void)spanflow::decode_packet(spanflow::LinkType::ethernet, v, metas[i]);
        metas[i].clock = v.ts;
    }

    spanflow::FlowShardConfig config;
    config.max_flows = static_cast<std::uint32_t>(flows);
    config.prefetch = prefetch;
    auto shard = std::make_unique<spanflow::FlowShard>(config);
    std::uint64_t ended = 0;
    auto emit = [&](const spanflow::FlowRecord&) { ++ended; };
    shard->update(metas.data(), metas.size(), emit);  // warm: every flow is live

    std::size_t next = 0;
    for (auto _ : state) {
        shard->update(metas.data() + next, spanflow::kBatchSize, emit);
        next += spanflow::kBatchSize;
        if (next + spanflow::kBatchSize > packets) next = 0;
    }
    benchmark::DoNotOptimize(ended);
    state.counters["Mpackets"] =
        benchmark::Counter(static_cast<double>(state.iterations() * spanflow::kBatchSize) / 1e6,
                           benchmark::Counter::kIsRate);
    state.counters["live_flows"] = static_cast<double>(shard->size());
}
BENCHMARK(BM_FlowTableUpdate)
    ->ArgNames({"flows", "prefetch"})
    ->Args({1 << 10, 1})
    ->Args({1 << 10, 0})
    ->Args({1 << 20, 1})
    ->Args({1 << 20, 0});

// A flood of one-packet flows among established long flows (bench/flood_traffic.hpp): how many
// long flows the table splits. The figure is the split share, not the time; one run each.
void BM_FloodAmongLongFlows(benchmark::State& state) {
    spanflow::bench::FloodResult r;
    for (auto _ : state) {
        spanflow::FlowShardConfig config;
        config.max_flows = static_cast<std::uint32_t>(state.range(0));
        auto shard = std::make_unique<spanflow::FlowShard>(config);
        r = spanflow::bench::run_flood(*shard, static_cast<std::uint32_t>(state.range(1)),
                                       static_cast<std::uint64_t>(state.range(2)));
    }
    state.counters["long_split_pct"] =
        100.0 * static_cast<double>(r.long_split) / static_cast<double>(r.long_flows);
    state.counters["long_split"] = static_cast<double>(r.long_split);
    state.counters["evicted"] = static_cast<double>(r.evicted);
    state.counters["Mpackets"] =
        benchmark::Counter(static_cast<double>(r.packets) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FloodAmongLongFlows)
    ->ArgNames({"table", "long", "flood"})
    ->Args({100'000, 10'000, 10'000'000})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
