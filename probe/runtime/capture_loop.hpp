// The capture loop, the same for every source and topology: poll a batch, stamp the clock,
// decode, leave out the probe's own exports, hand the packets to the pipeline (which routes them
// to their workers, or updates this thread's own shard), give the batch back to the source. It
// is a template on the source and the clock, picked once per run: no virtual call per packet.
#pragma once

#include <atomic>

#include "capture/source.hpp"
#include "probe/decode/decoder.hpp"
#include "probe/runtime/own_exports.hpp"
#include "probe/runtime/pipeline.hpp"
#include "probe/runtime/stats_board.hpp"

namespace spanflow {

// Runs until the source ends or fails, or `stop` is set; then finishes this producer (every flow
// it fed is still exported). Returns the source's last status.
// Called once per capture thread; kept out of line so that profilers (callgrind's
// --toggle-collect, bench/README.md) can name the loop.
template <CaptureSource Source, class Clock>
[[gnu::noinline]] PollStatus run_capture(Source& source, Clock& clock, Pipeline::Producer& producer,
                                         OwnExports& own_exports, CaptureCell& cell,
                                         const std::atomic<bool>& stop) {
    Decoder decoder(source.link_type());
    PacketBatch batch;
    PacketMeta metas[kBatchSize];
    PollStatus status = PollStatus::packets;
    CaptureLoopStats published;
    while (!stop.load(std::memory_order_relaxed)) {
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
    }
    producer.finish(clock.packet_clock());
    return status;
}

}  // namespace spanflow
