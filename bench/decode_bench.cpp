// Decode rate: 64-byte Ethernet/IPv4/TCP frames through Decoder::decode_batch, in batches of 32.
#include <benchmark/benchmark.h>

#include "bench/traffic.hpp"
#include "probe/decode/decoder.hpp"

namespace {

void BM_Decode(benchmark::State& state) {
    constexpr std::size_t kFrames = 4096;  // 256 KiB of frames: the input stays in L2
    auto frames = spanflow::bench::make_frames(1024, kFrames);
    spanflow::Decoder decoder;
    spanflow::PacketClock clock;
    spanflow::PacketBatch batch;
    spanflow::PacketMeta metas[spanflow::kBatchSize];
    std::size_t next = 0;
    std::int64_t t = 1'000'000'000;
    for (auto _ : state) {
        for (std::size_t i = 0; i < spanflow::kBatchSize; ++i) {
            auto& v = batch.packets[i];
            v.data = frames.data() + next * spanflow::bench::kFrameBytes;
            v.captured_bytes = v.wire_bytes = spanflow::bench::kFrameBytes;
            v.ts = spanflow::Timestamp::from_ns(t++);
            next = (next + 1) % kFrames;
        }
        batch.count = spanflow::kBatchSize;
        clock.stamp(batch);
        benchmark::DoNotOptimize(decoder.decode_batch(batch, metas));
        benchmark::ClobberMemory();
    }
    state.counters["Mpackets"] =
        benchmark::Counter(static_cast<double>(state.iterations() * spanflow::kBatchSize) / 1e6,
                           benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Decode);

}  // namespace
