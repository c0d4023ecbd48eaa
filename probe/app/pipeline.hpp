// Pipeline: the probe's threads and the rings between them.
//
//     capture thread --ShardWork ring--> worker 0 (FlowShard 0) --ExportWork ring--+
//     (read, decode,  --ShardWork ring--> worker 1 (FlowShard 1) --ExportWork ring--+--> exporter
//      hash, route)   ...                                                           |    thread
//                     --ShardWork ring--> worker N-1                 ---------------+
//
// The capture thread (whoever calls dispatch/tick/finish) decodes, hashes each key once and routes
// the packet to the worker that owns its shard, in batches of up to 32 packets per ring slot.
// Each worker is the only writer of its FlowShard, so the table needs no lock or atomic; it sends
// the flows that end, in batches, to the exporter thread, which hands them to a RecordSink
// (encoder, transport, JSON writer). Every ring is single-producer single-consumer (SpscRing).
//
// Time. Each ring slot carries the packet clock at the moment the capture thread sent it, and
// every tick_interval of packet time the capture thread sends the clock to every worker, packets
// or not, so that a worker whose shard sees no traffic still expires its flows during a replay.
// A worker sweeps its table at that clock after adding the slot's packets; since the clock never
// goes back and each packet carries the clock at its own arrival, which flows end and why is the
// same whatever the number of workers, the ring sizes or the thread timing (SEMANTICS.md). The
// exporter's clock is the newest clock any worker has sent.
//
// Full rings. With `lossless` (replay) the capture thread waits for room, so nothing is lost and
// the file is read as fast as the workers go. Without it (live capture) the capture thread never
// waits: packets that find their worker's ring full are counted and dropped. Workers always wait
// for the exporter, which is far faster than they are. The end of input always waits.
//
// Capacity. --max-flows is the capacity of the whole cache; each of N workers gets
// ceil(max_flows / N) entries. A full shard evicts its own least recently updated flow, so when
// the cache fills, which flows are evicted depends on the worker count; until it fills, nothing
// does.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "probe/core/flow_record.hpp"
#include "probe/core/packet_meta.hpp"
#include "probe/core/packet_view.hpp"
#include "probe/core/spsc_ring.hpp"
#include "probe/core/timestamp.hpp"
#include "probe/flow/flow_shard.hpp"

namespace spanflow {

struct PipelineConfig {
    unsigned workers{1};
    std::size_t ring_slots{256};  // batches of up to 32 packets per capture -> worker ring
    FlowShardConfig shard{};      // max_flows: the whole cache, split between the workers
    bool lossless{true};          // replay: wait on a full ring; live: count and drop
    Duration tick_interval{std::chrono::milliseconds{100}};
};

// Where ended flows go, called on the exporter thread only.
class RecordSink {
  public:
    virtual ~RecordSink() = default;
    // Once, before any record: the time of the first packet of the run.
    virtual void start(Timestamp first_packet) = 0;
    // Ended flows (maybe none: then only the clock moved). `now` never goes back.
    virtual void records(const FlowRecord* records, std::size_t count, Timestamp now) = 0;
    // Once, after every worker has sent its last flow.
    virtual void finish(Timestamp now) = 0;
};

// Workers' counters, published with relaxed stores after every ring slot and read by any thread.
class SharedFlowStats {
  public:
    void publish(const FlowShardStats& s);
    void add_to(FlowShardStats& sum) const;

  private:
    std::atomic<std::uint64_t> packets_{0}, bytes_{0}, created_{0}, evicted_{0};
    std::array<std::atomic<std::uint64_t>, kFlowEndReasonCount> ended_{};
};

struct CaptureStats {
    std::uint64_t dropped_ring_full{0};  // live only: packets a full ring could not take
    std::uint64_t waits_ring_full{0};    // replay only: backoff steps spent waiting for room
};

class Pipeline {
  public:
    // Allocates every table and ring; throws std::bad_alloc when the tables do not fit.
    Pipeline(const PipelineConfig& config, RecordSink& sink);
    ~Pipeline();  // joins the threads (finish() must have been called if start() was)
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // Starts the worker and exporter threads. Where the system refuses a thread (a container's
    // pids limit, address space), the threads already started are ended and joined, and
    // std::system_error is thrown, its what() naming the thread: "cannot start thread NAME: ...".
    void start();

    // Capture side: one thread only. Routes decoded packets (each stamped with the clock at its
    // arrival) to their shards; sends a tick to every shard when tick_interval has passed.
    void dispatch(const PacketMeta* metas, std::size_t n, const PacketClock& clock);
    // Sends what is pending and the clock to every worker now.
    void tick(const PacketClock& clock);
    // End of input: every worker ends the flows that have timed out by `clock`, then forces out
    // the rest (reason 4); the exporter finishes after the last of them.
    void finish(const PacketClock& clock);
    // Waits for the workers and the exporter to finish.
    void join();

    // The memory the constructor allocates for `config`: every shard's table (as
    // FlowShard::memory_bytes counts it), and the rings, which are zeroed, so resident at once.
    [[nodiscard]] static std::size_t table_bytes(const PipelineConfig& config);
    [[nodiscard]] static std::size_t ring_bytes(const PipelineConfig& config);

    [[nodiscard]] unsigned workers() const { return static_cast<unsigned>(workers_.size()); }
    [[nodiscard]] FlowShardStats flow_stats() const;  // sum over workers, any thread, any time
    [[nodiscard]] const CaptureStats& capture_stats() const { return capture_; }  // capture side

    // The shard a key's hash belongs to: the low 32 bits, scaled to the shard count. The table
    // takes its fingerprint and home slot from the top 32, so each shard's table still sees
    // uniform hashes whatever its size.
    [[nodiscard]] static unsigned shard_of(std::uint64_t hash, unsigned shards) {
        return static_cast<unsigned>((hash & 0xFFFF'FFFFull) * shards >> 32);
    }

    struct ShardWork {  // capture -> worker
        std::uint32_t count{0};
        bool flush{false};  // a tick: send what has ended to the exporter now
        bool last{false};   // end of input
        bool started{false};
        Timestamp start{};  // the first packet's time, once started
        Timestamp clock{};  // the packet clock when this was sent
        std::array<std::uint64_t, kBatchSize> hashes{};
        std::array<PacketMeta, kBatchSize> metas{};
    };
    struct ExportWork {  // worker -> exporter
        std::uint32_t count{0};
        bool last{false};
        bool started{false};
        Timestamp start{};
        Timestamp clock{};
        std::array<FlowRecord, kBatchSize> records{};
    };

  private:
    struct Worker;
    // Publishes shard's pending slot (claiming an empty one if there is none) with clock `now`.
    void send(unsigned shard, const PacketClock& clock, Timestamp now, bool flush, bool last);
    void run_exporter();

    PipelineConfig config_;
    RecordSink& sink_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<ShardWork*> pending_;  // each worker's slot being filled, or null
    CaptureStats capture_;
    Timestamp next_tick_{};
    bool ticking_{false};
    std::thread exporter_;
};

// Names the calling thread (sf-capture, sf-worker-N, sf-exporter) for top -H and ps -L.
void name_this_thread(const std::string& name);

// The default worker count: one per core, less one for the capture thread, at least one.
[[nodiscard]] unsigned default_worker_count();

}  // namespace spanflow
