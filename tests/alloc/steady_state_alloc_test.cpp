// The steady-state packet path allocates nothing: decode, dispatch to the workers, the flow
// table (new flows, expiry, restarts), the rings, the exporter thread's IPFIX encoder, the UDP
// send to a real loopback collector and the JSON-lines writer. Every operator new in the process
// (every thread) is counted; after a warm-up that creates every flow, ends some and sends
// templates, a million more packets must allocate nothing: 40K flows share a 20K-flow table, so
// about half of them evict a flow (and export it), and 200 ms active timeouts end the rest.
//
// Its own program, because it replaces the global operator new.
#include <doctest/doctest.h>
#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "bench/traffic.hpp"
#include "probe/app/export_sink.hpp"
#include "probe/decode/decoder.hpp"
#include "probe/runtime/pipeline.hpp"
#include "tests/unit/udp_receiver.hpp"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
std::atomic<int> g_traces_left{0};  // armed after the warm-up: where the first ones come from

void count_allocation() {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (g_traces_left.load(std::memory_order_relaxed) > 0 &&
        g_traces_left.fetch_sub(1, std::memory_order_relaxed) > 0) {
        void* frames[16];
        int n = backtrace(frames, 16);
        static const char kLine[] = "allocation after warm-up at:\n";
        (void)!write(2, kLine, sizeof kLine - 1);
        backtrace_symbols_fd(frames, n, 2);
    }
}
}  // namespace

void* operator new(std::size_t n) {
    count_allocation();
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    return operator new(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
    count_allocation();
    const auto align = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return operator new(n, a);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}

using namespace spanflow;

TEST_CASE("the steady-state packet path allocates nothing") {
    constexpr std::size_t kFlows = 20'000;
    constexpr std::size_t kFrames = std::size_t{1} << 16;
    test::UdpReceiver collector;  // receives (and drops) the exports: the sends are real
    std::string error;
    UdpTransport transport;
    REQUIRE(transport.open({collector.address}, error));
    ExportPath exporter(transport, ExportConfig{});
    JsonLinesWriter json;
    REQUIRE(json.open("/dev/null", error));
    ExportSink sink(&json, &exporter, transport, /*live=*/true);  // live: timed flushes too

    PipelineConfig config;
    config.workers = 2;
    config.ring_slots = 8;
    config.shard.max_flows = kFlows;  // full: new flows also evict
    config.shard.timeouts.active = std::chrono::milliseconds{200};
    Pipeline pipeline(config, sink);
    pipeline.start();

    auto frames = bench::make_frames(kFlows * 2, kFrames);
    Decoder decoder;
    PacketClock clock;
    PacketBatch batch;
    PacketMeta metas[kBatchSize];
    std::int64_t t = 1'700'000'000'000'000'000;
    std::size_t next = 0;
    auto run = [&](std::size_t packets) {
        for (std::size_t done = 0; done < packets; done += kBatchSize) {
            for (std::size_t i = 0; i < kBatchSize; ++i) {
                PacketView& v = batch.packets[i];
                v.data = frames.data() + next * bench::kFrameBytes;
                v.captured_bytes = v.wire_bytes = bench::kFrameBytes;
                v.ts = Timestamp::from_ns(t += 2'000);  // 500 kpps of packet time
                next = (next + 1) % kFrames;
            }
            batch.count = kBatchSize;
            clock.stamp(batch);
            std::size_t n = decoder.decode_batch(batch, metas);
            pipeline.dispatch(metas, n, clock);
        }
    };

    run(400'000);  // warm-up: every flow seen, table full, flows ended, templates sent
    const std::uint64_t before = g_allocations.load();
    g_traces_left = 3;
    run(1'000'000);
    const std::uint64_t during = g_allocations.load() - before;
    g_traces_left = 0;
    pipeline.finish(clock);
    pipeline.join();

    FlowShardStats s = pipeline.flow_stats();
    std::uint64_t ended = 0;
    for (auto e : s.flows_ended) ended += e;
    CHECK(s.packets == 1'400'000);
    CHECK(s.evicted_table_full > 0);  // the full-table path ran too
    CHECK(ended > 10'000);
    CHECK(exporter.stats().datagrams > 100);
    CHECK(during == 0);
}
