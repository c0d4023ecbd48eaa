// Expiry storm: a million flows that all time out in the same second must not stall the worker.
//
// 1M flows start within one second; 20 s later (past the 15 s idle timeout) traffic of 100K other
// flows arrives, and the worker does what it does per ring slot: FlowShard::update_hashed on 32
// packets, then the sweep with its per-batch budget, each ended flow copied out as into the
// export ring. Every batch is timed with the steady clock over 1M batches (32M packets); the 250K
// that also drain the storm (kSweepPerBatch = 4 flows each) are a quarter of them, so the median
// is an ordinary batch. `p999_over_median` must stay at or below 2; `storm:0`, the same run
// without the storm, shows the machine's own tail.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "bench/traffic.hpp"
#include "probe/decode/decoder.hpp"
#include "probe/flow/flow_shard.hpp"

namespace {

using namespace spanflow;

// Decoded packets of flows [first, first + flows), `count` of them picked at random, at `t_ns`.
std::vector<PacketMeta> packets_of(std::uint32_t first, std::size_t flows, std::size_t count,
                                   bool random, std::int64_t t_ns) {
    std::vector<PacketMeta> out(count);
    std::mt19937_64 rng(7);
    std::uint8_t frame[bench::kFrameBytes];
    for (std::size_t i = 0; i < count; ++i) {
        auto f = first + static_cast<std::uint32_t>(random ? rng() % flows : i % flows);
        bench::write_frame(frame, f);
        PacketView v;
        v.data = frame;
        v.captured_bytes = v.wire_bytes = bench::kFrameBytes;
        v.ts = Timestamp::from_ns(t_ns);
        (void)decode_packet(LinkType::ethernet, v, out[i]);
    }
    return out;
}

void BM_ExpiryStorm(benchmark::State& state) {
    const auto kStorm = static_cast<std::size_t>(state.range(0));
    constexpr std::size_t kOther = 100'000;
    constexpr std::size_t kBatches = 1'000'000;
    constexpr std::int64_t kSec = 1'000'000'000;
    const std::int64_t t0 = 1'700'000'000 * kSec;
    auto storm = packets_of(0, std::max<std::size_t>(kStorm, 1), kStorm, false, t0);
    auto traffic = packets_of(1'000'000, kOther, std::size_t{1} << 22, true, t0);
    std::vector<std::uint64_t> storm_hashes(storm.size()), hashes(traffic.size());
    for (std::size_t i = 0; i < storm.size(); ++i) {
        storm[i].ts = storm[i].clock = Timestamp::from_ns(t0 + static_cast<std::int64_t>(i) * 900);
        storm_hashes[i] = hash_key(storm[i].key);
    }
    for (std::size_t i = 0; i < traffic.size(); ++i) hashes[i] = hash_key(traffic[i].key);
    std::vector<std::int64_t> ns(kBatches), drain_ns, plain_ns;
    std::vector<FlowRecord> out(kBatchSize + kSweepPerBatch);
    std::uint64_t ended = 0;

    for (auto _ : state) {
        state.PauseTiming();
        FlowShardConfig config;
        config.max_flows = 2 * (kStorm + kOther);
        auto shard = std::make_unique<FlowShard>(config);
        std::size_t n_out = 0;
        auto emit = [&](const FlowRecord& r) { out[n_out++ % out.size()] = r; };
        shard->update_hashed(storm.data(), storm_hashes.data(), storm.size(), emit);
        // Warm the other flows 6 s after the storm, so that at t0 + 20 s the storm's flows have
        // been idle for 19 s (expired) and the others for under 14 s (live); then time every
        // batch from there.
        std::int64_t t = t0 + 6 * kSec;
        std::size_t next = 0;
        auto run = [&](std::size_t batches, bool timed) {
            for (std::size_t b = 0; b < batches; ++b) {
                PacketMeta* m = traffic.data() + next;
                for (std::size_t i = 0; i < kBatchSize; ++i) {
                    m[i].ts = m[i].clock = Timestamp::from_ns(t);
                    t += 100;
                }
                auto start = std::chrono::steady_clock::now();
                shard->update_hashed(m, hashes.data() + next, kBatchSize, emit);
                const std::size_t swept =
                    shard->sweep(m[kBatchSize - 1].clock, kSweepPerBatch, emit);
                auto stop = std::chrono::steady_clock::now();
                if (timed) {
                    ns[b] =
                        std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count();
                    (swept != 0 ? drain_ns : plain_ns).push_back(ns[b]);
                }
                next += kBatchSize;
                if (next + kBatchSize > traffic.size()) next = 0;
            }
        };
        run(traffic.size() / kBatchSize, false);
        t = t0 + 20 * kSec;  // every storm flow is now past its idle deadline
        state.ResumeTiming();
        run(kBatches, true);
        ended += shard->stats().flows_ended[static_cast<std::size_t>(FlowEndReason::idle)];
    }
    std::sort(ns.begin(), ns.end());
    auto median_of = [](std::vector<std::int64_t>& v) {
        if (v.empty()) return 0.0;
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
        return static_cast<double>(v[v.size() / 2]);
    };
    state.counters["drain_batches"] = static_cast<double>(drain_ns.size());
    state.counters["drain_median_ns"] = median_of(drain_ns);
    state.counters["plain_median_ns"] = median_of(plain_ns);
    const double median = static_cast<double>(ns[ns.size() / 2]);
    const double p999 = static_cast<double>(ns[ns.size() * 999 / 1000]);
    state.counters["median_batch_ns"] = median;
    state.counters["p999_batch_ns"] = p999;
    state.counters["p999_over_median"] = p999 / median;
    state.counters["p90_batch_ns"] = static_cast<double>(ns[ns.size() * 9 / 10]);
    state.counters["p99_batch_ns"] = static_cast<double>(ns[ns.size() * 99 / 100]);
    state.counters["idle_flows_ended"] =
        static_cast<double>(ended) / static_cast<double>(state.iterations());
}
// storm:0 is the same run without the storm: what the machine's own noise does to the tail.
BENCHMARK(BM_ExpiryStorm)
    ->ArgName("storm")
    ->Arg(0)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
