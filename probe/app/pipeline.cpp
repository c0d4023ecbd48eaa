#include "probe/app/pipeline.hpp"

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

void SharedFlowStats::publish(const FlowShardStats& s) {
    packets_.store(s.packets, std::memory_order_relaxed);
    bytes_.store(s.bytes, std::memory_order_relaxed);
    created_.store(s.flows_created, std::memory_order_relaxed);
    evicted_.store(s.evicted_table_full, std::memory_order_relaxed);
    for (std::size_t r = 0; r < ended_.size(); ++r)
        ended_[r].store(s.flows_ended[r], std::memory_order_relaxed);
}

void SharedFlowStats::add_to(FlowShardStats& sum) const {
    sum.packets += packets_.load(std::memory_order_relaxed);
    sum.bytes += bytes_.load(std::memory_order_relaxed);
    sum.flows_created += created_.load(std::memory_order_relaxed);
    sum.evicted_table_full += evicted_.load(std::memory_order_relaxed);
    for (std::size_t r = 0; r < ended_.size(); ++r)
        sum.flows_ended[r] += ended_[r].load(std::memory_order_relaxed);
}

struct Pipeline::Worker {
    Worker(const FlowShardConfig& shard_config, std::size_t ring_slots)
        : shard(shard_config), in(ring_slots), out(kExportRingSlots) {}

    void run();
    ExportWork& output();  // the export slot being filled, claimed on first use
    void send_output(bool last);

    FlowShard shard;
    SpscRing<ShardWork> in;
    SpscRing<ExportWork> out;
    SharedFlowStats stats;
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
    // Ended flows go straight into the export ring's slot: no copy in between.
    auto emit = [this](const FlowRecord& r) {
        ExportWork& w = output();
        w.records[w.count++] = r;
        if (w.count == kBatchSize) send_output(false);
    };
    Backoff backoff;
    for (;;) {
        ShardWork* work = in.front();
        if (work == nullptr) {
            backoff.wait();
            continue;
        }
        backoff.reset();
        clock = work->clock;
        started = work->started;
        start = work->start;
        shard.update_hashed(work->metas.data(), work->hashes.data(), work->count, emit);
        const bool last = work->last;
        const bool flush = work->flush;
        in.pop();
        if (last) {
            // Flows that had timed out by the last packet end with their own reason; the rest
            // are forced out (reason 4).
            shard.sweep(clock, std::numeric_limits<std::size_t>::max(), emit);
            shard.expire_all(FlowEndReason::forced, emit);
        } else {
            shard.sweep(clock, flush ? kSweepPerTick : kSweepPerBatch, emit);
        }
        stats.publish(shard.stats());
        if (last) {
            send_output(true);
            return;
        }
        if (flush) send_output(false);
    }
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
    return worker_count(config) * ((config.ring_slots + 1) * slot(sizeof(ShardWork)) +
                                   (kExportRingSlots + 1) * slot(sizeof(ExportWork)));
}

Pipeline::Pipeline(const PipelineConfig& config, RecordSink& sink) : config_(config), sink_(sink) {
    config_.workers = worker_count(config_);
    FlowShardConfig shard_config = config_.shard;
    shard_config.max_flows = flows_per_shard(config_);
    for (unsigned i = 0; i < config_.workers; ++i)
        workers_.push_back(std::make_unique<Worker>(shard_config, config_.ring_slots));
    pending_.assign(config_.workers, nullptr);
}

Pipeline::~Pipeline() {
    join();
}

void Pipeline::start() {
    std::string name;
    try {
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            name = "sf-worker-" + std::to_string(i);
            workers_[i]->thread = std::thread([worker = workers_[i].get(), name] {
                name_this_thread(name);
                worker->run();
            });
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

void Pipeline::send(unsigned shard, const PacketClock& clock, Timestamp now, bool flush,
                    bool last) {
    ShardWork* w = pending_[shard];
    if (w == nullptr) {
        w = workers_[shard]->in.try_claim();
        // A live tick that finds the ring full is skipped: that worker has work and a clock.
        if (w == nullptr && !config_.lossless && !last) return;
        Backoff backoff;
        while (w == nullptr) {
            backoff.wait();
            w = workers_[shard]->in.try_claim();
        }
        capture_.waits_ring_full += backoff.waits();
        w->count = 0;
    }
    w->flush = flush;
    w->last = last;
    w->started = clock.started();
    w->start = clock.start();
    w->clock = now;
    workers_[shard]->in.publish();
    pending_[shard] = nullptr;
}

void Pipeline::dispatch(const PacketMeta* metas, std::size_t n, const PacketClock& clock) {
    const unsigned shards = static_cast<unsigned>(workers_.size());
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t hash = hash_key(metas[i].key);
        const unsigned s = shard_of(hash, shards);
        ShardWork* w = pending_[s];
        if (w == nullptr) {
            w = workers_[s]->in.try_claim();
            if (w == nullptr) {
                if (!config_.lossless) {
                    ++capture_.dropped_ring_full;
                    continue;
                }
                Backoff backoff;
                while ((w = workers_[s]->in.try_claim()) == nullptr) backoff.wait();
                capture_.waits_ring_full += backoff.waits();
            }
            w->count = 0;
            pending_[s] = w;
        }
        w->hashes[w->count] = hash;
        w->metas[w->count] = metas[i];
        // Sent with the clock at its last packet, not the clock after the whole input batch:
        // the worker sweeps at the slot's clock, and later packets of this input batch may
        // belong to flows that would wrongly expire at a later clock.
        if (++w->count == kBatchSize) send(s, clock, metas[i].clock, false, false);
    }
    if (!clock.started()) return;
    if (!ticking_) {
        ticking_ = true;
        next_tick_ = clock.now() + config_.tick_interval;
    } else if (clock.now() >= next_tick_) {
        tick(clock);
    }
}

void Pipeline::tick(const PacketClock& clock) {
    for (unsigned s = 0; s < workers_.size(); ++s) send(s, clock, clock.now(), true, false);
    next_tick_ = clock.now() + config_.tick_interval;
}

void Pipeline::finish(const PacketClock& clock) {
    for (unsigned s = 0; s < workers_.size(); ++s) send(s, clock, clock.now(), true, true);
}

FlowShardStats Pipeline::flow_stats() const {
    FlowShardStats sum;
    for (const auto& w : workers_) w->stats.add_to(sum);
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
