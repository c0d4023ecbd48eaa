// FlowShard: one shard of the flow cache, owned by one thread, so it needs no locks or atomics.
// It turns PacketMetas into flows and hands out every flow that ends, with its IPFIX end reason,
// exactly as SEMANTICS.md ("Expiry") defines.
//
// Layout. Flows live in a fixed pool of `max_flows` entries allocated at construction. A separate
// open-addressing index maps keys to pool entries:
//
//     tags_   [ t | 0 | t | t | 0 | ... ]   one byte per slot: 0 = empty, else 0x80 | low hash bits
//     slots_  [ e | - | e | e | - | ... ]   pool index of the entry in that slot
//
// The slot count is the power of two at or above 2 x max_flows, so the index is at most half
// full. A key's home slot is the top bits of its 64-bit hash; collisions probe linearly. A lookup
// scans tags (64 per cache line) and compares the full key only where a tag matches: a hash
// match alone never merges two flows. Deletion shifts the following run back (no tombstones), so
// probe lengths never grow with churn.
//
// Expiry. Each entry sits on two intrusive lists threaded through the pool:
//   - a recency list, in order of last update: one for flows that have seen no FIN/RST (idle
//     timeout) and one for flows that have (the shorter tcp-end timeout);
//   - an age list, in order of creation (active timeout).
// Because each list is ordered by its own deadline, the flows due to expire are at the heads: the
// sweep looks only there, so expiry costs O(1) per expired flow, and a full table evicts the head
// of the recency lists (least recently used) in O(1). A packet's arrival checks its flow's
// deadlines too, so a packet never joins a flow that had already timed out, whenever the sweep
// last ran; both paths compute the same reason from the same deadlines, so the flows exported do
// not depend on the sweep's schedule.
//
// Time. `now` is the packet clock stamped on each PacketMeta (the newest packet time so far).
// Deadlines run on that clock: the idle deadline is the clock at the flow's latest packet plus the
// idle (or tcp-end) timeout, the active deadline the clock at its first packet plus the active
// timeout. For captures in time order the clock at a packet is the packet's own time; when a
// capture goes back in time, the lists stay in deadline order because the clock never does.
// What a flow exports as first and last are its earliest and latest packet times, and a packet
// that would stretch a flow to `active` or more from first to last ends it with reason 2 and
// starts a new one.
//
// Eviction. A new flow in a full table first ends a flow that has already timed out, if any;
// else the least recently updated flow is evicted (reason 5), so a full table degrades into an
// LRU cache and never refuses a packet.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "probe/core/flow_record.hpp"
#include "probe/core/packet_meta.hpp"

namespace spanflow {

struct FlowTimeouts {
    Duration active{std::chrono::seconds{1800}};
    Duration inactive{std::chrono::seconds{15}};
    Duration tcp_end{std::chrono::seconds{5}};
};

struct FlowShardConfig {
    std::uint32_t max_flows{1'048'576};
    FlowTimeouts timeouts{};
    // A flow ends (reason 5) before a counter would pass these: the export format's field width.
    std::uint64_t max_packets{std::numeric_limits<std::uint64_t>::max()};
    std::uint64_t max_bytes{std::numeric_limits<std::uint64_t>::max()};
    bool prefetch{true};  // off only to measure what the staged lookup buys
};

struct FlowShardStats {
    std::uint64_t packets{0};
    std::uint64_t bytes{0};
    std::uint64_t flows_created{0};
    std::array<std::uint64_t, kFlowEndReasonCount> flows_ended{};  // indexed by FlowEndReason
    std::uint64_t evicted_table_full{0};  // of flows_ended[5]: the rest split on counter limits
};

class FlowShard {
  public:
    // Throws std::bad_alloc when the system cannot map a table of `max_flows`.
    explicit FlowShard(const FlowShardConfig& config);
    FlowShard(const FlowShard&) = delete;
    FlowShard& operator=(const FlowShard&) = delete;

    // Adds a batch of packets (each stamped with the packet clock at its arrival) and calls
    // emit(const FlowRecord&) for every flow that ends on the way.
    template <class Emit>
    void update(const PacketMeta* metas, std::size_t n, Emit&& emit) {
        std::uint64_t hashes[kMaxBatch];
        for (std::size_t base = 0; base < n; base += kMaxBatch) {
            std::size_t count = std::min(kMaxBatch, n - base);
            for (std::size_t i = 0; i < count; ++i) hashes[i] = hash_key(metas[base + i].key);
            update_hashed(metas + base, hashes, count, emit);
        }
    }

    // The same, with each key's hash_key() already computed (the dispatcher needs it to pick
    // the shard, so the worker does not compute it again).
    template <class Emit>
    void update_hashed(const PacketMeta* metas, const std::uint64_t* hashes, std::size_t n,
                       Emit&& emit) {
        for (std::size_t base = 0; base < n; base += kMaxBatch) {
            std::size_t count = std::min(kMaxBatch, n - base);
            prefetch_batch(hashes + base, count);
            for (std::size_t i = 0; i < count; ++i) {
                if (update_one(metas[base + i], hashes[base + i], ended_))
                    emit(std::as_const(ended_));
            }
        }
    }

    // Exports at most `budget` flows whose deadline has passed at `now`. Returns how many.
    template <class Emit>
    std::size_t sweep(Timestamp now, std::size_t budget, Emit&& emit) {
        std::size_t done = 0;
        while (done < budget && expire_one(now, ended_)) {
            emit(std::as_const(ended_));
            ++done;
        }
        return done;
    }

    // Ends every flow with `reason` (shutdown, end of a replayed file: forced).
    template <class Emit>
    void expire_all(FlowEndReason reason, Emit&& emit) {
        while (remove_oldest(reason, ended_)) emit(std::as_const(ended_));
    }

    [[nodiscard]] std::size_t size() const { return live_; }
    [[nodiscard]] std::size_t capacity() const { return config_.max_flows; }
    [[nodiscard]] std::size_t slot_count() const { return mask_ + 1; }
    [[nodiscard]] const FlowShardStats& stats() const { return stats_; }

    struct FreeDeleter {  // the table's arrays come from calloc (see the constructor)
        void operator()(void* p) const { std::free(p); }
    };

  private:
    static constexpr std::size_t kMaxBatch = 32;
    static constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
    static constexpr std::uint8_t kTcpEnded = 0x01;  // has seen FIN or RST
    static constexpr std::uint8_t kHasVlan = 0x02;
    static constexpr std::uint8_t kHasSrcMac = 0x04;
    static constexpr std::uint8_t kHasDstMac = 0x08;

    struct Links {
        std::uint32_t prev;
        std::uint32_t next;
    };
    struct Entry {
        FlowKey key;
        std::uint8_t tcp_flags;
        std::uint8_t state;
        std::uint16_t vlan_id;
        std::uint64_t packets;
        std::uint64_t bytes;
        Timestamp first;  // earliest and latest packet time: what is exported
        Timestamp last;
        Timestamp started;  // the packet clock at the first and the latest packet: deadlines
        Timestamp touched;
        Links recency;  // on recency_[0] (no FIN/RST) or recency_[1] (FIN/RST seen)
        Links age;      // on age_
        MacAddress src_mac;
        MacAddress dst_mac;
    };
    struct List {
        std::uint32_t head{kNil};
        std::uint32_t tail{kNil};
    };
    using LinksOf = Links Entry::*;

    void prefetch_batch(const std::uint64_t* hashes, std::size_t n) const;
    bool update_one(const PacketMeta& m, std::uint64_t hash, FlowRecord& ended);
    bool expire_one(Timestamp now, FlowRecord& ended);
    bool remove_oldest(FlowEndReason reason, FlowRecord& ended);
    bool make_room(Timestamp now, FlowRecord& ended);

    [[nodiscard]] std::optional<FlowEndReason> expiry(const Entry& e, Timestamp now) const;
    [[nodiscard]] std::size_t home_slot(std::uint64_t hash) const { return hash >> shift_; }
    [[nodiscard]] static std::uint8_t tag_of(std::uint64_t hash) {
        return static_cast<std::uint8_t>(hash | 0x80);
    }
    [[nodiscard]] std::uint32_t find(const FlowKey& key, std::uint64_t hash) const;
    void index_insert(std::uint32_t entry, std::uint64_t hash);
    void index_erase(std::uint32_t entry);

    void start_flow(std::uint32_t idx, const PacketMeta& m);
    void end_flow(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended);
    void retire(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended);
    List& recency_list(const Entry& e) { return recency_[(e.state & kTcpEnded) ? 1 : 0]; }
    void link_tail(List& list, std::uint32_t idx, LinksOf links);
    void unlink(List& list, std::uint32_t idx, LinksOf links);

    FlowShardConfig config_;
    std::unique_ptr<Entry[], FreeDeleter> pool_;
    std::unique_ptr<std::uint8_t[], FreeDeleter> tags_;
    std::unique_ptr<std::uint32_t[], FreeDeleter> slots_;
    std::size_t mask_{0};
    unsigned shift_{0};
    std::uint32_t free_head_{kNil};  // entries freed by ended flows, chained through recency.next
    std::uint32_t never_used_{0};    // entries from here on have never held a flow
    std::size_t live_{0};
    std::array<List, 2> recency_{};
    List age_{};
    FlowShardStats stats_{};
    FlowRecord ended_{};  // the record being handed to emit; reused, never allocated
};

}  // namespace spanflow
