// The capture loop, the same for every source and topology: poll a batch, stamp the clock,
// decode, leave out the probe's own exports, hand the packets to the pipeline (which routes them
// to their workers, or updates this thread's own shard), give the batch back to the source. It
// is a template on the source and the clock, picked once per run: no virtual call per packet.
#pragma once

#include <atomic>
#include <chrono>

#include "capture/source.hpp"
#include "probe/decode/decoder.hpp"
#include "probe/runtime/own_exports.hpp"
#include "probe/runtime/pipeline.hpp"
#include "probe/runtime/stats_board.hpp"

namespace spanflow {

// The most a live capture spends on what the kernel still holds after a stop.
inline constexpr std::chrono::seconds kDrainTime{2};

// Runs until the source ends or fails, or `stop` is set; then finishes this producer (every flow
// it fed is still exported). Returns the source's last status. A live source (kDrainOnStop)
// still hands over what the kernel had already captured when the stop came, for at most
// kDrainTime; a replay stops at once.
// Called once per capture thread; kept out of line so that profilers (callgrind's
// --toggle-collect, bench/README.md) can name the loop.
template <CaptureSource Source, class Clock>
[[gnu::noinline]] PollStatus run_capture(Source& source, Clock& clock, Pipeline::Producer& producer,
                                         OwnExports& own_exports, CaptureCell& cell,
                                         const std::atomic<bool>& stop) {
    Decoder decoder;
    PacketBatch batch;
    PacketMeta metas[kBatchSize];
    PollStatus status = PollStatus::packets;
    CaptureLoopStats published;
    constexpr bool kDrain = requires {
        Source::kDrainOnStop;
    };
    std::chrono::steady_clock::time_point drain_until{};
    bool draining = false;
    for (;;) {
        if (stop.load(std::memory_order_relaxed) && !draining) {
            if (!kDrain) break;
            draining = true;
            drain_until = std::chrono::steady_clock::now() + kDrainTime;
        }
        status = source.poll(batch);
        std::size_t n = 0;
        if (batch.count != 0) {
            clock.stamp(batch);
            n = decoder.decode_batch(batch, metas);
            n = own_exports.remove(metas, n);
        } else {
            clock.advance();  // live: the wall clock moves on, so idle flows still expire
        }
        source.release(batch);
        producer.dispatch(metas, n, clock.packet_clock());
        published.capture = source.stats();
        published.decode = decoder.stats();
        published.own_exports_skipped = own_exports.removed();
        cell.stats.publish(published);
        if (status == PollStatus::end || status == PollStatus::error) break;
        if (draining &&
            (status == PollStatus::empty || std::chrono::steady_clock::now() >= drain_until))
            break;
    }
    if constexpr (requires { source.finish(); }) {
        source.finish();  // the last drop counters
        published.capture = source.stats();
        cell.stats.publish(published);
    }
    producer.finish(clock.packet_clock());
    return status;
}

}  // namespace spanflow
