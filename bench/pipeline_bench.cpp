// The whole per-packet path on one core, and the workers side by side.
//
// BM_Pipeline: 64-byte Ethernet/IPv4/TCP frames over N flows picked uniformly at random, through
// exactly what the capture, worker and exporter threads do, on one thread: decode_batch,
// FlowShard::update (hash, staged prefetch, lookup, update), the budgeted sweep, and the IPFIX
// export path (ExportPath with a transport that has no collector: records are encoded into
// datagrams, nothing is sent). Packet times advance 100 ns per packet; the active timeout is the
// time in which a flow gets ~100 packets, and the flows start spread over one timeout, so about
// one packet in 100 ends a flow and encodes its record (`records_per_packet` says how many were
// in the timed part). Every flow is live before timing starts. `bytes_per_flow` is the resident
// memory the table added, per flow.
//
// Instructions per packet: run under callgrind with --toggle-collect='*OneCore::run_batch*' and
// divide the Ir of run_batch by 32 x the iterations. SPANFLOW_BENCH_ITERATIONS=N fixes the
// iterations of BM_Pipeline so that the figure is exact: Google Benchmark otherwise runs the
// function several times while it estimates them.
//
// BM_Workers: the worker threads alone, on pre-sharded decoded packets (each thread owns a shard
// and its packets, as after the capture thread's routing): shows how the workers scale.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "bench/traffic.hpp"
#include "export/export_path.hpp"
#include "export/udp_transport.hpp"
#include "probe/runtime/pipeline.hpp"
#include "probe/decode/decoder.hpp"
#include "probe/flow/flow_shard.hpp"

namespace {

using namespace spanflow;

constexpr std::int64_t kStepNs = 100;  // packet time between two packets: 10 Mpps of traffic
constexpr std::int64_t kPacketsPerFlowLife = 100;

std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

struct OneCore {
    explicit OneCore(std::size_t flows, bool prefetch) : decoder(LinkType::ethernet) {
        // Active timeout: the clock time in which a flow receives ~100 packets, so that about
        // one packet in 100 ends a flow (and encodes a record) whatever the flow count.
        const Duration active{static_cast<std::int64_t>(flows) * kPacketsPerFlowLife * kStepNs};
        FlowShardConfig config;
        config.max_flows = static_cast<std::uint32_t>(flows);
        config.prefetch = prefetch;
        config.timeouts.active = active;
        config.timeouts.inactive = active + std::chrono::seconds{1};  // only active ends flows
        std::string error;
        (void)transport.open({}, error);
        exporter = std::make_unique<ExportPath>(transport, ExportConfig{});
        std::size_t before = resident_bytes();
        shard = std::make_unique<FlowShard>(config);
        {
            // Every flow live: one packet each, in flow order, spread over one active timeout
            // so that their ends are spread evenly over the run.
            auto frames = bench::make_sequential_frames(flows);
            step_ = kPacketsPerFlowLife * kStepNs;
            for (std::size_t base = 0; base < flows; base += kBatchSize) {
                std::size_t n = std::min(kBatchSize, flows - base);
                batch_body(frames.data() + base * bench::kFrameBytes, n);
            }
            step_ = kStepNs;
        }  // the warm-up frames are freed before the table's memory is measured
        bytes_per_flow =
            static_cast<double>(resident_bytes() - before) / static_cast<double>(flows);
    }

    // One batch through every stage: the unit the callgrind figure is counted over.
    [[gnu::noinline]] void run_batch(const std::uint8_t* frames, std::size_t n) {
        batch_body(frames, n);
    }
    [[gnu::always_inline]] inline void batch_body(const std::uint8_t* frames, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            PacketView& v = batch.packets[i];
            v.data = frames + i * bench::kFrameBytes;
            v.captured_bytes = v.wire_bytes = bench::kFrameBytes;
            v.ts = Timestamp::from_ns(t += step_);
        }
        batch.count = n;
        bool first = !clock.started();
        clock.stamp(batch);
        std::size_t decoded = decoder.decode_batch(batch, metas);
        if (first) exporter->set_start_time(clock.start());
        auto emit = [this](const FlowRecord& r) {
            exporter->add(r, clock.now());
            ++records;
        };
        shard->update(metas, decoded, emit);
        shard->sweep(clock.now(), kSweepPerBatch, emit);
        exporter->poll(clock.now());
    }

    Decoder decoder;
    PacketClock clock;
    PacketBatch batch;
    PacketMeta metas[kBatchSize];
    std::unique_ptr<FlowShard> shard;
    UdpTransport transport;
    std::unique_ptr<ExportPath> exporter;
    std::int64_t t{1'700'000'000'000'000'000};
    std::int64_t step_{kStepNs};
    std::uint64_t records{0};
    double bytes_per_flow{0};
};

void BM_Pipeline(benchmark::State& state) {
    const auto flows = static_cast<std::size_t>(state.range(0));
    const bool prefetch = state.range(1) != 0;
    constexpr std::size_t kFrames = std::size_t{1} << 22;  // 256 MiB of random frames
    auto frames = bench::make_frames(flows, kFrames);
    OneCore core(flows, prefetch);
    core.records = 0;
    std::size_t next = 0;
    for (auto _ : state) {
        core.run_batch(frames.data() + next * bench::kFrameBytes, kBatchSize);
        next += kBatchSize;
        if (next + kBatchSize > kFrames) next = 0;
    }
    const double packets = static_cast<double>(state.iterations() * kBatchSize);
    state.counters["Mpackets"] = benchmark::Counter(packets / 1e6, benchmark::Counter::kIsRate);
    state.counters["live_flows"] = static_cast<double>(core.shard->size());
    state.counters["bytes_per_flow"] = core.bytes_per_flow;
    state.counters["records_per_packet"] = static_cast<double>(core.records) / packets;
}
auto* const pipeline_benchmark = [] {
    auto* b = benchmark::RegisterBenchmark("BM_Pipeline", BM_Pipeline);
    if (const char* n = std::getenv("SPANFLOW_BENCH_ITERATIONS")) b->Iterations(std::atoll(n));
    return b;
}();
[[maybe_unused]] auto* const pipeline_args =
    pipeline_benchmark->ArgNames({"flows", "prefetch"}) -> Args({1 << 10, 1}) -> Args({100'000, 1})
        -> Args({100'000, 0}) -> Args({1 << 20, 1}) -> Args({1 << 20, 0}) -> Args({10'000'000, 1})
            -> Args({10'000'000, 0}) -> Unit(benchmark::kMicrosecond);

// Each benchmark thread is one worker with its own shard and its own (pre-sharded) packets.
void BM_Workers(benchmark::State& state) {
    const auto flows_per_worker = static_cast<std::size_t>(state.range(0));
    const unsigned workers = static_cast<unsigned>(state.threads());
    const auto shard_index = static_cast<unsigned>(state.thread_index());
    // The packets of this worker's shard, taken from traffic over all workers' flows.
    const std::size_t total_flows = flows_per_worker * workers;
    // The same number of packets per worker (2^18) whatever the worker count.
    auto frames = bench::make_frames(total_flows, (std::size_t{1} << 18) * workers);
    std::vector<PacketMeta> metas;
    std::vector<std::uint64_t> hashes;
    PacketClock clock;
    for (std::size_t i = 0; i < frames.size() / bench::kFrameBytes; ++i) {
        PacketView v;
        v.data = frames.data() + i * bench::kFrameBytes;
        v.captured_bytes = v.wire_bytes = bench::kFrameBytes;
        v.ts = Timestamp::from_ns(1'000'000'000 + static_cast<std::int64_t>(i));
        PacketMeta m;
        if (decode_packet(LinkType::ethernet, v, m) != DecodeReason::ok) continue;
        clock.observe(v.ts);
        m.clock = clock.now();
        std::uint64_t h = hash_key(m.key);
        if (Pipeline::shard_of(h, workers) != shard_index) continue;
        metas.push_back(m);
        hashes.push_back(h);
    }
    FlowShardConfig config;
    config.max_flows = static_cast<std::uint32_t>(flows_per_worker * 2);
    FlowShard shard(config);
    std::uint64_t ended = 0;
    auto emit = [&](const FlowRecord&) { ++ended; };
    shard.update_hashed(metas.data(), hashes.data(), metas.size(), emit);
    const std::size_t usable = metas.size() / kBatchSize * kBatchSize;
    std::size_t next = 0;
    for (auto _ : state) {
        shard.update_hashed(metas.data() + next, hashes.data() + next, kBatchSize, emit);
        shard.sweep(metas[next].clock, kSweepPerBatch, emit);
        next += kBatchSize;
        if (next >= usable) next = 0;
    }
    benchmark::DoNotOptimize(ended);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatchSize));
}
// 1, 2, 4, 8 and 15 workers, as many of those as the machine has cores for.
[[maybe_unused]] auto* const workers_benchmark = [] {
    auto* b = benchmark::RegisterBenchmark("BM_Workers", BM_Workers);
    b->ArgName("flows_per_worker")->Arg(1 << 10)->Arg(50'000)->UseRealTime();
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (int threads : {1, 2, 4, 8, 15}) {
        if (threads == 1 || static_cast<unsigned>(threads) <= cores) b->Threads(threads);
    }
    return b;
}();

}  // namespace
