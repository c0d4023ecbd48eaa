// Pipeline: the probe's threads and the rings between them, in one of two topologies.
//
// Dispatch (K capture threads, N workers):
//
//     producer 0 --ShardWork ring--> worker 0 (FlowShard 0) --ExportWork ring--+
//     (read,      --ShardWork ring--> worker 1 (FlowShard 1) --ExportWork ring--+--> exporter
//      decode,     ...                                                          |    thread
//      route)  producer 1 --rings--> each worker ...        ---------------------+
//
// Each producer (a capture thread: a file reader, one per libpcap interface) decodes, hashes each
// key once and routes the packet to the worker that owns its shard, over its own ring to that
// worker (K x N single-producer single-consumer rings), in batches of up to 32 packets per slot.
// Every packet of one flow key reaches the same worker, so no flow is split between two.
//
// Run to completion (one producer per worker, no ring before the table): the producer's own
// thread updates the shard it owns, sweeps it and hands ended flows to the exporter. This is the
// per-queue shape (AF_XDP sockets, DPDK RX queues) and what a replay with one worker runs: no
// packet crosses a thread before the table.
//
// Either way each FlowShard has one writer, so the table needs no lock or atomic; ended flows go
// in batches to the exporter thread, which hands them to a RecordSink (encoder, transport, JSON
// writer).
//
// Time. Each ring slot carries the clock at the moment its producer sent it, and every
// tick_interval of that clock the producer sends the clock to every worker, packets or not, so a
// worker whose shard sees no traffic still expires its flows. A worker sweeps its table at that
// clock after adding the slot's packets. In a replay the clock is the packet clock and there is
// one producer: since the clock never goes back and each packet carries the clock at its own
// arrival, which flows end and why is the same whatever the number of workers, the ring sizes or
// the thread timing (SEMANTICS.md). Live, the clock is the wall clock and each producer ticks
// while its link is quiet; a worker fed by several producers sweeps at the newest clock any of
// them sent. The exporter's clock is the newest clock any worker has sent.
//
// Full rings. With `lossless` (replay) a producer waits for room, so nothing is lost and the file
// is read as fast as the workers go. Without it (live capture) a producer never waits: packets
// that find their worker's ring full are counted and dropped. Workers always wait for the
// exporter, which is far faster than they are. The end of input always waits.
//
// Capacity. --max-flows is the capacity of the whole cache; each of N workers gets
// ceil(max_flows / N) entries. A full shard evicts its own flow nearest its timeout (FlowShard's
// "Eviction"), so when the cache fills, which flows are evicted depends on the worker count;
// until it fills, nothing does.
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
#include "probe/core/published.hpp"
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
    unsigned producers{1};          // capture threads
    bool run_to_completion{false};  // producers == workers: each producer owns a shard
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

// What a producer counts of its routing.
struct DispatchStats {
    std::uint64_t dropped_ring_full{0};  // live only: packets a full ring could not take
    std::uint64_t waits_ring_full{0};    // replay only: backoff steps spent waiting for room
};

class Pipeline {
    struct Worker;

  public:
    struct ShardWork {  // producer -> worker
        std::uint32_t count{0};
        bool flush{false};  // a tick: send what has ended to the exporter now
        bool last{false};   // end of this producer's input
        bool started{false};
        Timestamp start{};  // the first packet's time, once started
        Timestamp clock{};  // the producer's clock when this was sent
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

    // One capture thread's end of the pipeline: one thread only calls it.
    class Producer {
      public:
        // Routes decoded packets (each stamped with the clock at its arrival) to their shards,
        // or updates its own shard (run to completion); ticks every worker it feeds when
        // tick_interval has passed on `clock`. With n == 0 it only ticks when due.
        void dispatch(const PacketMeta* metas, std::size_t n, const PacketClock& clock);
        // Sends what is pending and the clock to every worker now.
        void tick(const PacketClock& clock);
        // End of this producer's input. A worker ends once every producer feeding it has
        // finished: the flows that have timed out by then end with their own reason, the rest
        // are forced out (reason 4); the exporter finishes after the last worker.
        void finish(const PacketClock& clock);

        [[nodiscard]] DispatchStats stats() const { return published_.read(); }  // any thread

      private:
        friend class Pipeline;
        Producer(Pipeline& pipeline, unsigned index);
        // Publishes shard's pending slot (claiming an empty one if there is none).
        void send(unsigned shard, const PacketClock& clock, Timestamp now, bool flush, bool last);

        Pipeline& pipeline_;
        unsigned index_;
        std::vector<ShardWork*> pending_;  // each worker's slot being filled, or null
        DispatchStats stats_;
        Published<DispatchStats> published_;
        Timestamp next_tick_{};
        bool ticking_{false};
    };

    // Allocates every table and ring; throws std::bad_alloc when the tables do not fit.
    Pipeline(const PipelineConfig& config, RecordSink& sink);
    ~Pipeline();  // joins the threads (every producer must have finished if start() was called)
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // Starts the worker threads (none when running to completion) and the exporter thread.
    // Where the system refuses a thread (a container's pids limit, address space), the threads
    // already started are ended and joined, and std::system_error is thrown, its what() naming
    // the thread: "cannot start thread NAME: ...".
    void start();

    [[nodiscard]] Producer& producer(unsigned index) { return *producers_[index]; }
    [[nodiscard]] const Producer& producer(unsigned index) const { return *producers_[index]; }
    // The first producer's calls, for a pipeline with one capture thread.
    void dispatch(const PacketMeta* metas, std::size_t n, const PacketClock& clock) {
        producer(0).dispatch(metas, n, clock);
    }
    void finish(const PacketClock& clock) {
        for (auto& p : producers_) p->finish(clock);
    }
    // Waits for the workers and the exporter to finish.
    void join();

    // The memory the constructor allocates for `config`: every shard's table (as
    // FlowShard::memory_bytes counts it), and the rings, which are zeroed, so resident at once.
    [[nodiscard]] static std::size_t table_bytes(const PipelineConfig& config);
    [[nodiscard]] static std::size_t ring_bytes(const PipelineConfig& config);

    [[nodiscard]] unsigned workers() const { return static_cast<unsigned>(workers_.size()); }
    [[nodiscard]] FlowShardStats flow_stats() const;     // sum over workers, any thread, any time
    [[nodiscard]] DispatchStats dispatch_stats() const;  // sum over producers, any thread

    // The shard a key's hash belongs to: the low 32 bits, scaled to the shard count. The table
    // takes its fingerprint and home slot from the top 32, so each shard's table still sees
    // uniform hashes whatever its size.
    [[nodiscard]] static unsigned shard_of(std::uint64_t hash, unsigned shards) {
        return static_cast<unsigned>((hash & 0xFFFF'FFFFull) * shards >> 32);
    }

  private:
    void run_exporter();

    PipelineConfig config_;
    RecordSink& sink_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::unique_ptr<Producer>> producers_;
    std::thread exporter_;
};

// Names the calling thread (sf-capture, sf-worker-N, sf-exporter) for top -H and ps -L.
void name_this_thread(const std::string& name);

// The default worker count: one per core, less one for the capture thread, at least one.
[[nodiscard]] unsigned default_worker_count();

}  // namespace spanflow
