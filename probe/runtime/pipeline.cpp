#include "probe/runtime/pipeline.hpp"

#include <pthread.h>

#include <algorithm>
#include <limits>
#include <string>
#include <system_error>

namespace spanflow {
namespace {
// Slots per worker -> exporter ring. Workers rarely end more flows than they receive packets.
constexpr std::size_t kExportRingSlots = 64;
}  // namespace

// One shard, its writer's state and its ring to the exporter. Driven by its own thread from the
// producers' rings (dispatch), or by the one producer that owns it (run to completion).
struct Pipeline::Worker {
    Worker(const FlowShardConfig& shard_config, std::size_t ring_slots, unsigned producers,
           bool with_rings)
        : shard(shard_config), out(kExportRingSlots) {
        if (with_rings) {
            for (unsigned p = 0; p < producers; ++p)
                in.push_back(std::make_unique<SpscRing<ShardWork>>(ring_slots));
        }
    }

    void run();  // the worker thread (dispatch)
    // Adds packets; their ended flows go straight into the export ring's slot: no copy.
    void add(const PacketMeta* metas, const std::uint64_t* hashes, std::size_t n) {
        shard.update_hashed(metas, hashes, n, [this](const FlowRecord& r) { emit(r); });
    }
    // Moves the clock. Called before the packets it came with are added: the flows they end go
    // to the exporter with this clock, which is never older than their own times.
    void set_clock(Timestamp now, bool is_started, Timestamp first) {
        clock = std::max(clock, now);
        if (is_started && !started) {
            started = true;
            start = first;
        }
    }
    // Sweeps at the clock (more on a tick) and, on a tick, hands what has ended on.
    void advance(bool flush) {
        shard.sweep(clock, flush ? kSweepPerTick : kSweepPerBatch,
                    [this](const FlowRecord& r) { emit(r); });
        stats.publish(shard.stats());
        if (flush) send_output(false);
    }
    // End of input: flows that had timed out by the clock end with their own reason; the rest
    // are forced out (reason 4).
    void end() {
        auto e = [this](const FlowRecord& r) { emit(r); };
        shard.expire_due(clock, e);
        shard.expire_all(FlowEndReason::forced, e);
        stats.publish(shard.stats());
        send_output(true);
    }
    void emit(const FlowRecord& r) {
        ExportWork& w = output();
        w.records[w.count++] = r;
        if (w.count == kBatchSize) send_output(false);
    }
    ExportWork& output();  // the export slot being filled, claimed on first use
    void send_output(bool last);

    FlowShard shard;
    std::vector<std::unique_ptr<SpscRing<ShardWork>>> in;  // one per producer (dispatch)
    SpscRing<ExportWork> out;
    Published<FlowShardStats> stats;
    std::thread thread;
    ExportWork* filling{nullptr};
    bool started{false};
    Timestamp start{};
    Timestamp clock{};
};

Pipeline::ExportWork& Pipeline::Worker::output() {
    if (filling == nullptr) {
        Backoff backoff;
        while ((filling = out.try_claim()) == nullptr) backoff.wait();
        filling->count = 0;
    }
    return *filling;
}

void Pipeline::Worker::send_output(bool last) {
    ExportWork& w = output();
    w.last = last;
    w.started = started;
    w.start = start;
    w.clock = clock;
    out.publish();
    filling = nullptr;
}

void Pipeline::Worker::run() {
    std::size_t running = in.size();  // producers that have not sent their last slot
    std::vector<bool> done(in.size(), false);
    Backoff backoff;
    while (running > 0) {
        bool any = false;
        for (std::size_t p = 0; p < in.size(); ++p) {
            if (done[p]) continue;
            ShardWork* work = in[p]->front();
            if (work == nullptr) continue;
            any = true;
            set_clock(work->clock, work->started, work->start);
            add(work->metas.data(), work->hashes.data(), work->count);
            const bool last = work->last;
            const bool flush = work->flush;
            in[p]->pop();
            if (last) {
                done[p] = true;
                --running;
                continue;
            }
            advance(flush);
        }
        if (any) {
            backoff.reset();
        } else {
            backoff.wait();
        }
    }
    end();
}

namespace {
unsigned worker_count(const PipelineConfig& config) {
    return std::max(config.workers, 1u);
}
// --max-flows is the whole cache: each worker's shard holds its share, rounded up.
std::uint32_t flows_per_shard(const PipelineConfig& config) {
    const unsigned workers = worker_count(config);
    return static_cast<std::uint32_t>((std::uint64_t{config.shard.max_flows} + workers - 1) /
                                      workers);
}
}  // namespace

std::size_t Pipeline::table_bytes(const PipelineConfig& config) {
    return worker_count(config) * FlowShard::memory_bytes(flows_per_shard(config));
}

std::size_t Pipeline::ring_bytes(const PipelineConfig& config) {
    // SpscRing keeps one slot more than its capacity, each slot on whole cache lines.
    auto slot = [](std::size_t bytes) {
        return (bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
    };
    const std::size_t in_rings = config.run_to_completion ? 0 : std::max(config.producers, 1u);
    return worker_count(config) * (in_rings * (config.ring_slots + 1) * slot(sizeof(ShardWork)) +
                                   (kExportRingSlots + 1) * slot(sizeof(ExportWork)));
}

Pipeline::Pipeline(const PipelineConfig& config, RecordSink& sink) : config_(config), sink_(sink) {
    config_.workers = worker_count(config_);
    config_.producers = std::max(config_.producers, 1u);
    if (config_.run_to_completion) config_.producers = config_.workers;
    FlowShardConfig shard_config = config_.shard;
    shard_config.max_flows = flows_per_shard(config_);
    for (unsigned i = 0; i < config_.workers; ++i) {
        workers_.push_back(std::make_unique<Worker>(shard_config, config_.ring_slots,
                                                    config_.producers, !config_.run_to_completion));
    }
    for (unsigned p = 0; p < config_.producers; ++p)
        producers_.push_back(std::unique_ptr<Producer>(new Producer(*this, p)));
}

Pipeline::~Pipeline() {
    join();
}

Pipeline::Producer::Producer(Pipeline& pipeline, unsigned index)
    : pipeline_(pipeline), index_(index), pending_(pipeline.workers_.size(), nullptr) {}

void Pipeline::start() {
    std::string name;
    try {
        if (!config_.run_to_completion) {
            for (std::size_t i = 0; i < workers_.size(); ++i) {
                name = "sf-worker-" + std::to_string(i);
                workers_[i]->thread = std::thread([worker = workers_[i].get(), name] {
                    name_this_thread(name);
                    worker->run();
                });
            }
        }
        name = "sf-exporter";
        exporter_ = std::thread([this] {
            name_this_thread("sf-exporter");
            run_exporter();
        });
    } catch (const std::exception& e) {
        // The workers started wait for input: its end lets them finish (with nothing to export,
        // they fill no export ring), so they can be joined.
        finish(PacketClock{});
        join();
        const auto* system = dynamic_cast<const std::system_error*>(&e);
        throw std::system_error(
            system ? system->code() : std::make_error_code(std::errc::not_enough_memory),
            "cannot start thread " + name);
    }
}

void name_this_thread(const std::string& name) {
    // Shown by top -H, ps -L and debuggers; the kernel keeps 15 characters.
    (void)pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

void Pipeline::join() {
    for (auto& w : workers_) {
        if (w->thread.joinable()) w->thread.join();
    }
    if (exporter_.joinable()) exporter_.join();
}

void Pipeline::Producer::send(unsigned shard, const PacketClock& clock, Timestamp now, bool flush,
                              bool last) {
    SpscRing<ShardWork>& ring = *pipeline_.workers_[shard]->in[index_];
    ShardWork* w = pending_[shard];
    if (w == nullptr) {
        w = ring.try_claim();
        // A live tick that finds the ring full is skipped: that worker has work and a clock.
        if (w == nullptr && !pipeline_.config_.lossless && !last) return;
        Backoff backoff;
        while (w == nullptr) {
            backoff.wait();
            w = ring.try_claim();
        }
        stats_.waits_ring_full += backoff.waits();
        w->count = 0;
    }
    w->flush = flush;
    w->last = last;
    w->started = clock.started();
    w->start = clock.start();
    w->clock = now;
    ring.publish();
    pending_[shard] = nullptr;
}

void Pipeline::Producer::dispatch(const PacketMeta* metas, std::size_t n,
                                  const PacketClock& clock) {
    const unsigned shards = static_cast<unsigned>(pipeline_.workers_.size());
    if (pipeline_.config_.run_to_completion) {
        // The shard is this thread's own: update it in place, in the batch the source gave.
        Worker& worker = *pipeline_.workers_[index_];
        if (n != 0) {
            std::uint64_t hashes[kBatchSize];
            for (std::size_t base = 0; base < n; base += kBatchSize) {
                const std::size_t count = std::min(kBatchSize, n - base);
                for (std::size_t i = 0; i < count; ++i) hashes[i] = hash_key(metas[base + i].key);
                // The clock of the batch's last packet, as a ring slot would carry it.
                worker.set_clock(metas[base + count - 1].clock, clock.started(), clock.start());
                worker.add(metas + base, hashes, count);
                worker.advance(false);
            }
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t hash = hash_key(metas[i].key);
            const unsigned s = shard_of(hash, shards);
            ShardWork* w = pending_[s];
            if (w == nullptr) {
                SpscRing<ShardWork>& ring = *pipeline_.workers_[s]->in[index_];
                w = ring.try_claim();
                if (w == nullptr) {
                    if (!pipeline_.config_.lossless) {
                        ++stats_.dropped_ring_full;
                        continue;
                    }
                    Backoff backoff;
                    while ((w = ring.try_claim()) == nullptr) backoff.wait();
                    stats_.waits_ring_full += backoff.waits();
                }
                w->count = 0;
                pending_[s] = w;
            }
            w->hashes[w->count] = hash;
            w->metas[w->count] = metas[i];
            // Sent with the clock at its last packet, not the clock after the whole input
            // batch: the worker sweeps at the slot's clock, and later packets of this input
            // batch may belong to flows that would wrongly expire at a later clock.
            if (++w->count == kBatchSize) send(s, clock, metas[i].clock, false, false);
        }
    }
    published_.publish(stats_);
    if (!clock.started()) return;
    if (!ticking_) {
        ticking_ = true;
        next_tick_ = clock.now() + pipeline_.config_.tick_interval;
    } else if (clock.now() >= next_tick_) {
        tick(clock);
    }
}

void Pipeline::Producer::tick(const PacketClock& clock) {
    if (pipeline_.config_.run_to_completion) {
        Worker& worker = *pipeline_.workers_[index_];
        worker.set_clock(clock.now(), clock.started(), clock.start());
        worker.advance(true);
    } else {
        for (unsigned s = 0; s < pipeline_.workers_.size(); ++s)
            send(s, clock, clock.now(), true, false);
    }
    next_tick_ = clock.now() + pipeline_.config_.tick_interval;
}

void Pipeline::Producer::finish(const PacketClock& clock) {
    if (pipeline_.config_.run_to_completion) {
        Worker& worker = *pipeline_.workers_[index_];
        worker.set_clock(clock.now(), clock.started(), clock.start());
        worker.end();
    } else {
        for (unsigned s = 0; s < pipeline_.workers_.size(); ++s)
            send(s, clock, clock.now(), true, true);
    }
    published_.publish(stats_);
}

FlowShardStats Pipeline::flow_stats() const {
    FlowShardStats sum;
    for (const auto& w : workers_) {
        const FlowShardStats s = w->stats.read();
        sum.packets += s.packets;
        sum.bytes += s.bytes;
        sum.flows_created += s.flows_created;
        sum.evicted_table_full += s.evicted_table_full;
        sum.evicted_probation += s.evicted_probation;
        for (std::size_t r = 0; r < sum.flows_ended.size(); ++r)
            sum.flows_ended[r] += s.flows_ended[r];
    }
    return sum;
}

DispatchStats Pipeline::dispatch_stats() const {
    DispatchStats sum;
    for (const auto& p : producers_) {
        const DispatchStats s = p->stats();
        sum.dropped_ring_full += s.dropped_ring_full;
        sum.waits_ring_full += s.waits_ring_full;
    }
    return sum;
}

void Pipeline::run_exporter() {
    std::vector<bool> done(workers_.size(), false);
    std::size_t running = workers_.size();
    bool started = false;
    Timestamp now{};
    Backoff backoff;
    while (running > 0) {
        bool any = false;
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            if (done[i]) continue;
            ExportWork* w;
            while ((w = workers_[i]->out.front()) != nullptr) {
                any = true;
                if (!started && w->started) {
                    started = true;
                    sink_.start(w->start);
                }
                now = std::max(now, w->clock);
                sink_.records(w->records.data(), w->count, now);
                const bool last = w->last;
                workers_[i]->out.pop();
                if (last) {
                    done[i] = true;
                    --running;
                    break;
                }
            }
        }
        if (any) {
            backoff.reset();
        } else {
            backoff.wait();
        }
    }
    sink_.finish(now);
}

unsigned default_worker_count() {
    const unsigned cores = std::thread::hardware_concurrency();
    return cores > 1 ? cores - 1 : 1;
}

}  // namespace spanflow
