// The whole per-packet path on one core, and the workers side by side.
//
// BM_Pipeline: the production run-to-completion loop (run_capture on a Pipeline with one worker,
// as `spanflow -r` runs with --workers 1 and as each AF_XDP or DPDK queue will) over 64-byte
// Ethernet/IPv4/TCP frames of N flows picked uniformly at random: a source hands out views of
// frames in memory, as the mapped file reader does, and the capture thread stamps the clock,
// decodes, hashes, updates its own shard (staged prefetch), sweeps it and publishes its
// counters; the exporter thread encodes the flows that end as IPFIX (ExportPath with a transport
// that has no collector: nothing is sent). Packet times advance 100 ns per packet; the active
// timeout is the time in which a flow gets ~100 packets, and the flows start spread over one
// timeout, so about one packet in 100 ends a flow (`records_per_packet`). Every flow is live
// before timing starts. `bytes_per_flow` is the resident memory the table added, per flow.
//
// Instructions per packet: run under callgrind with --toggle-collect='*run_capture*' and divide
// its Ir by 32 x the iterations (the exporter thread's encoding is not in it). Setting
// SPANFLOW_BENCH_ITERATIONS=N fixes the iterations of BM_Pipeline so that the figure is exact:
// Google Benchmark otherwise runs the function several times while it estimates them.
//
// BM_Workers: the worker threads alone, on pre-sharded decoded packets (each thread owns a shard
// and its packets, as after the capture thread's routing): shows how the workers scale.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "bench/traffic.hpp"
#include "capture/source.hpp"
#include "export/export_path.hpp"
#include "export/udp_transport.hpp"
#include "probe/decode/decoder.hpp"
#include "probe/flow/flow_shard.hpp"
#include "probe/runtime/capture_loop.hpp"
#include "probe/runtime/live_clock.hpp"
#include "probe/runtime/pipeline.hpp"

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

// Fills a batch with views of frames in memory, `step` ns of packet time apart.
void fill(PacketBatch& batch, const std::uint8_t* frames, std::size_t n, std::int64_t& t,
          std::int64_t step) {
    for (std::size_t i = 0; i < n; ++i) {
        PacketView& v = batch.packets[i];
        v.data = frames + i * bench::kFrameBytes;
        v.captured_bytes = v.wire_bytes = bench::kFrameBytes;
        v.ts = Timestamp::from_ns(t += step);
        v.ifindex = 0;
    }
    batch.count = n;
}

// A CaptureSource over frames in memory: one batch per benchmark iteration, then the end.
class FrameSource {
  public:
    FrameSource(const std::vector<std::uint8_t>& frames, benchmark::State& state, std::int64_t t)
        : frames_(frames), state_(state), t_(t) {}
    PollStatus poll(PacketBatch& batch) {
        if (!state_.KeepRunning()) {
            batch.count = 0;
            return PollStatus::end;
        }
        fill(batch, frames_.data() + next_ * bench::kFrameBytes, kBatchSize, t_, kStepNs);
        next_ += kBatchSize;
        if ((next_ + kBatchSize) * bench::kFrameBytes > frames_.size()) next_ = 0;
        return PollStatus::packets;
    }
    void release(const PacketBatch&) {}
    [[nodiscard]] LinkType link_type() const { return LinkType::ethernet; }
    [[nodiscard]] CaptureStats stats() const { return {}; }
    [[nodiscard]] std::string error() const { return {}; }

  private:
    const std::vector<std::uint8_t>& frames_;
    benchmark::State& state_;
    std::int64_t t_;
    std::size_t next_{0};
};
static_assert(CaptureSource<FrameSource>);

// The flows that end, encoded as IPFIX on the exporter thread.
class EncodingSink final : public RecordSink {
  public:
    explicit EncodingSink(ExportPath& exporter) : exporter_(exporter) {}
    void start(Timestamp first) override { exporter_.set_start_time(first); }
    void records(const FlowRecord* r, std::size_t n, Timestamp now) override {
        for (std::size_t i = 0; i < n; ++i) exporter_.add(r[i], now);
        exporter_.poll(now);
    }
    void finish(Timestamp now) override { exporter_.finish(now); }

  private:
    ExportPath& exporter_;
};

void BM_Pipeline(benchmark::State& state) {
    const auto flows = static_cast<std::size_t>(state.range(0));
    const bool prefetch = state.range(1) != 0;
    constexpr std::size_t kFrames = std::size_t{1} << 22;  // 256 MiB of random frames
    auto frames = bench::make_frames(flows, kFrames);

    std::string error;
    UdpTransport transport;
    (void)transport.open({}, error);
    ExportPath exporter(transport, ExportConfig{});
    EncodingSink sink(exporter);
    PipelineConfig config;
    config.workers = 1;
    config.run_to_completion = true;
    // Active timeout: the clock time in which a flow receives ~100 packets, so that about one
    // packet in 100 ends a flow (and encodes a record) whatever the flow count.
    const Duration active{static_cast<std::int64_t>(flows) * kPacketsPerFlowLife * kStepNs};
    config.shard.max_flows = static_cast<std::uint32_t>(flows);
    config.shard.prefetch = prefetch;
    config.shard.timeouts.active = active;
    config.shard.timeouts.inactive = active + std::chrono::seconds{1};  // only active ends flows
    const std::size_t before = resident_bytes();
    Pipeline pipeline(config, sink);
    pipeline.start();
    ReplayClock clock;
    std::int64_t t = 1'700'000'000'000'000'000;
    {
        // Every flow live: one packet each, in flow order, spread over one active timeout so
        // that their ends are spread evenly over the run. The same calls as run_capture.
        auto warm = bench::make_sequential_frames(flows);
        Decoder decoder;
        PacketBatch batch;
        PacketMeta metas[kBatchSize];
        for (std::size_t base = 0; base < flows; base += kBatchSize) {
            fill(batch, warm.data() + base * bench::kFrameBytes, std::min(kBatchSize, flows - base),
                 t, kPacketsPerFlowLife * kStepNs);
            clock.stamp(batch);
            pipeline.producer(0).dispatch(metas, decoder.decode_batch(batch, metas),
                                          clock.packet_clock());
        }
    }  // the warm-up frames are freed before the table's memory is measured
    const double bytes_per_flow =
        static_cast<double>(resident_bytes() - before) / static_cast<double>(flows);
    constexpr auto kActive = static_cast<std::size_t>(FlowEndReason::active);
    const std::uint64_t ended_before = pipeline.flow_stats().flows_ended[kActive];

    FrameSource source(frames, state, t);
    OwnExports none;
    CaptureCell cell;
    std::atomic<bool> stop{false};
    (void)run_capture(source, clock, pipeline.producer(0), none, cell, stop);
    pipeline.join();

    const double packets = static_cast<double>(state.iterations() * kBatchSize);
    state.counters["Mpackets"] = benchmark::Counter(packets / 1e6, benchmark::Counter::kIsRate);
    state.counters["bytes_per_flow"] = bytes_per_flow;
    // Flows the timed part ended (the end of the run forces the rest out, reason 4).
    state.counters["records_per_packet"] =
        static_cast<double>(pipeline.flow_stats().flows_ended[kActive] - ended_before) / packets;
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
