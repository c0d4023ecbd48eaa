// FlowShard: one shard of the flow cache, owned by one thread, so it needs no locks or atomics.
// It turns PacketMetas into flows and hands out every flow that ends, with its IPFIX end reason,
// exactly as SEMANTICS.md ("Expiry") defines.
//
// Layout. Every array is allocated once, at construction, from huge pages where the system allows
// (table_memory.hpp), and indexed by entry number (pool) or slot number (index):
//
//     index_    [ fp | e+1 ][ fp | e+1 ][ 0 | 0 ] ...  8-byte slots: the top 32 bits of the key's
//                                                      hash (fingerprint) and entry number + 1;
//                                                      0 = empty. 8 slots per cache line.
//     pool_     [ Entry, 64 bytes, one cache line ]    key (IPv4 whole; IPv6 less its addresses),
//                                                      counters, first/last/started/touched
//     v6_       [ 32 bytes: IPv6 source, destination ] read only for IPv6 flows (their 2nd line)
//     extras_   [ 16 bytes: VLAN, MACs ]               written at the start, read at the end
//     recency_  [ prev | next ]   age_ [ prev | next ] the expiry lists, 8 bytes each
//
// The index has the power of two at or above 2 x max_flows slots (at most half full). A key's home
// slot is the top bits of its fingerprint, and collisions probe linearly. A lookup compares 32-bit
// fingerprints and reads an entry only where one matches, so a miss costs the index line alone (a
// false match: one in 4 billion). The full key is then compared: a hash match alone never merges
// two flows. Deletion shifts the following run back (no tombstones), so probe lengths never grow
// with churn; the shift reads each slot's home from its fingerprint, so it rehashes nothing.
//
// Memory per IPv4 flow at 10M flows: 64 (entry) + 14 (extras) + 16 (lists) + 8 x 32M/10M
// (index) = 121 bytes; the IPv6 array is touched only by IPv6 flows.
//
// The staged lookup (DPDK's bulk lookup, update_hashed): for a batch of 32 packets, (1) prefetch
// every home index line, (2) probe each for a fingerprint match and prefetch the entry and its
// recency links, (3) prefetch the recency neighbours the update will relink, (4) update. The
// misses of the whole batch overlap instead of following each other.
//
// Expiry. Each entry sits on two intrusive lists:
//   - a recency list, in order of last update: one for flows that have seen no FIN/RST (idle
//     timeout) and one for flows that have (the shorter tcp-end timeout);
//   - an age list, in order of creation (active timeout).
// Because each list is ordered by its own deadline, the flows due to expire are at the heads: the
// sweep looks only there, so expiry costs O(1) per expired flow, and a full table evicts the head
// of the recency lists (least recently used) in O(1). The sweep is given a budget per batch, so a
// million flows timing out in the same second leave a few per batch and never stall the worker.
// A packet's arrival checks its flow's deadlines too, so a packet never joins a flow that had
// already timed out, whenever the sweep last ran; both paths compute the same reason from the same
// deadlines, so the flows exported do not depend on the sweep's schedule.
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
// LRU cache and never refuses a packet. Counters are 48 bits wide (2.8e14 packets or bytes, days
// of a 100 Gb/s link): a flow about to pass that, or the export format's limit, ends (reason 5).
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
#include "probe/flow/table_memory.hpp"

namespace spanflow {

struct FlowTimeouts {
    Duration active{std::chrono::seconds{1800}};
    Duration inactive{std::chrono::seconds{15}};
    Duration tcp_end{std::chrono::seconds{5}};
};

// How many flows a sweep may end per batch of packets, and per tick (every 100 ms of packet
// time, packets or not). Per batch: small enough that a batch that also ends flows takes at most
// about twice as long as one that does not (a million flows timing out in the same second leave 4
// per batch and never stall the worker: bench BM_ExpiryStorm). Where more than one packet in 8
// starts a flow, expired flows can wait for the next tick, which ends up to 1024; a packet of an
// expired flow still ends it on arrival, and a full table ends an expired flow before it evicts
// one.
inline constexpr std::size_t kSweepPerBatch = 4;
inline constexpr std::size_t kSweepPerTick = 1024;

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
            if (config_.prefetch) {
                stage_batch(hashes + base, count);
            } else {
                std::fill_n(hint_slot_, count, kNoSlot);
            }
            for (std::size_t i = 0; i < count; ++i) {
                if (update_one(metas[base + i], hashes[base + i], hint_slot_[i], ended_))
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
    // Where the entries' memory came from (huge pages or not): for the report and the tests.
    [[nodiscard]] PageKind page_kind() const { return pool_.page_kind(); }

  private:
    static constexpr std::size_t kMaxBatch = 32;
    static constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
    static constexpr std::size_t kNoSlot = std::numeric_limits<std::size_t>::max();
    static constexpr std::uint8_t kTcpEnded = 0x01;  // has seen FIN or RST
    static constexpr std::uint8_t kHasVlan = 0x02;
    static constexpr std::uint8_t kHasSrcMac = 0x04;
    static constexpr std::uint8_t kHasDstMac = 0x08;
    static constexpr std::uint8_t kIpv6 = 0x10;
    static constexpr std::uint64_t kCounterMax = (std::uint64_t{1} << 48) - 1;

    struct Slot {
        std::uint32_t fingerprint;   // hash >> 32
        std::uint32_t entry_plus_1;  // 0: empty
    };
    // The part of a key that lives in the entry; IPv6 addresses live in v6_.
    struct HotKey {
        std::uint32_t src4;  // IPv4 address, or the first 4 bytes of the IPv6 one
        std::uint32_t dst4;
        std::uint32_t ifindex;
        std::uint16_t src_port;
        std::uint16_t dst_port;
        std::uint8_t protocol;
        std::uint8_t tos;
        // Not key: the flow's state, in what would be padding. Lookups compare kKeyBytes only.
        std::uint8_t tcp_flags;
        std::uint8_t state;  // kIpv6 | kTcpEnded | kHasVlan | kHasSrcMac | kHasDstMac
    };
    static constexpr std::size_t kKeyBytes = offsetof(HotKey, tcp_flags);
    struct alignas(64) Entry {
        HotKey key;
        std::uint32_t packets_low;  // packets: low 32 bits here, high 16 bits in `counts`
        std::uint64_t counts;       // bytes in the low 48 bits, packets' high 16 bits above
        Timestamp first;            // earliest and latest packet time: what is exported
        Timestamp last;
        Timestamp started;  // the packet clock at the first and the latest packet: deadlines
        Timestamp touched;

        [[nodiscard]] std::uint64_t packets() const { return packets_low | ((counts >> 48) << 32); }
        [[nodiscard]] std::uint64_t bytes() const { return counts & kCounterMax; }
    };
    static_assert(sizeof(Entry) == 64, "an IPv4 flow is one cache line");
    struct Ipv6Addresses {
        std::array<std::uint8_t, 16> src;
        std::array<std::uint8_t, 16> dst;
    };
    struct Extras {
        std::uint16_t vlan_id;
        MacAddress src_mac;
        MacAddress dst_mac;
    };
    static_assert(sizeof(Extras) == 14);
    struct Links {
        std::uint32_t prev;
        std::uint32_t next;
    };
    struct List {
        std::uint32_t head{kNil};
        std::uint32_t tail{kNil};
    };

    void stage_batch(const std::uint64_t* hashes, std::size_t n);
    bool update_one(const PacketMeta& m, std::uint64_t hash, std::size_t hint_slot,
                    FlowRecord& ended);
    void join(std::uint32_t idx, const PacketMeta& m);
    bool update_rare(std::uint32_t idx, const PacketMeta& m, FlowRecord& ended);
    bool insert(const PacketMeta& m, std::uint64_t hash, Timestamp now, FlowRecord& ended);
    bool expire_one(Timestamp now, FlowRecord& ended);
    bool remove_oldest(FlowEndReason reason, FlowRecord& ended);
    bool make_room(Timestamp now, FlowRecord& ended);

    [[nodiscard]] std::optional<FlowEndReason> expiry(const Entry& e, Timestamp now) const;
    [[nodiscard]] std::size_t home_slot(std::uint32_t fingerprint) const {
        return fingerprint >> shift_;
    }
    [[nodiscard]] static HotKey hot_key(const FlowKey& k);
    [[nodiscard]] static bool same_key(const HotKey& a, const HotKey& b);
    [[nodiscard]] std::uint32_t find(const PacketMeta& m, std::uint64_t hash) const;
    [[nodiscard]] std::size_t probe_hint(std::uint64_t hash) const;
    [[nodiscard]] bool matches(std::uint32_t idx, const PacketMeta& m, const HotKey& want) const;
    void index_insert(std::uint32_t entry, std::uint64_t hash);
    void index_erase(std::uint32_t entry, std::uint64_t hash);

    void start_flow(std::uint32_t idx, const PacketMeta& m);
    void end_flow(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended);
    void retire(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended);
    [[nodiscard]] std::size_t recency_of(const Entry& e) const {
        return (e.key.state & kTcpEnded) ? 1 : 0;
    }
    static void link_tail(List& list, TableArray<Links>& links, std::uint32_t idx);
    static void unlink(List& list, TableArray<Links>& links, std::uint32_t idx);

    FlowShardConfig config_;
    std::uint64_t max_packets_;
    std::uint64_t max_bytes_;
    TableArray<Slot> index_;
    TableArray<Entry> pool_;
    TableArray<Ipv6Addresses> v6_;
    TableArray<Extras> extras_;
    TableArray<Links> recency_links_;
    TableArray<Links> age_links_;
    std::size_t mask_{0};
    unsigned shift_{0};
    std::uint32_t free_head_{kNil};  // entries freed by ended flows, chained through recency next
    std::uint32_t never_used_{0};    // entries from here on have never held a flow
    std::size_t live_{0};
    std::array<List, 2> recency_{};
    List age_{};
    FlowShardStats stats_{};
    FlowRecord ended_{};  // the record being handed to emit; reused, never allocated
    // Stage two's finding per packet of the batch: the slot whose fingerprint matched, or
    // kNoSlot. Only a hint: earlier packets of the batch may have moved things since.
    std::size_t hint_slot_[kMaxBatch]{};
};

}  // namespace spanflow
