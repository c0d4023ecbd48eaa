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
//                                                      counters, first/last, both deadlines
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
// misses of the whole batch overlap instead of following each other. Stage four trusts stage
// two's entry once its key compares equal (an ended flow's entry is marked dead, so it never
// does) and searches the index again only when it does not: a new flow, a fingerprint collision,
// or an earlier packet of the batch that moved things.
//
// The common packet (update_one, inline): key compare, one test for everything that could end
// the flow (deadline passed, FIN/SYN/RST, a time before the flow's first or an active timeout
// away from it, a counter limit near), then counters, last time, idle deadline and the move to
// the tail of its recency list. Everything else takes the out-of-line paths.
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
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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
        stats_.packets += n;
        for (std::size_t base = 0; base < n; base += kMaxBatch) {
            std::size_t count = std::min(kMaxBatch, n - base);
            if (config_.prefetch) {
                stage_batch(hashes + base, count);
            } else {
                std::fill_n(hint_, count, kNil);
            }
            for (std::size_t i = 0; i < count; ++i) {
                if (update_one(metas[base + i], hashes[base + i], hint_[i], ended_))
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

    // The memory a shard of `max_flows` maps: what a full table of IPv6 flows makes resident
    // (pages nothing has touched cost nothing until then).
    [[nodiscard]] static std::size_t memory_bytes(std::uint32_t max_flows);

    [[nodiscard]] std::size_t size() const { return live_; }
    [[nodiscard]] std::size_t capacity() const { return config_.max_flows; }
    [[nodiscard]] std::size_t slot_count() const { return mask_ + 1; }
    [[nodiscard]] const FlowShardStats& stats() const { return stats_; }
    // Where the entries' memory came from (huge pages or not): for the report and the tests.
    [[nodiscard]] PageKind page_kind() const { return pool_.page_kind(); }

  private:
    static constexpr std::size_t kMaxBatch = 32;
    static constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
    static constexpr std::uint8_t kTcpEnded = 0x01;  // has seen FIN or RST: must stay bit 0
    static constexpr std::uint8_t kHasVlan = 0x02;
    static constexpr std::uint8_t kHasSrcMac = 0x04;
    static constexpr std::uint8_t kHasDstMac = 0x08;
    static constexpr std::uint8_t kIpv6 = 0x10;
    static constexpr std::uint8_t kLive = 0x20;  // holds a flow: a dead entry's key never matches
    // Packet flags that may end a flow or change its timeout: such packets take the rare path.
    static constexpr std::uint8_t kTcpSessionFlags = kTcpFin | kTcpSyn | kTcpRst;
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
        // Not key: the flow's state, in what would be padding. Lookups mask all of it out but
        // kLive and kIpv6 (kW2Mask).
        std::uint8_t tcp_flags;
        std::uint8_t state;  // kLive | kIpv6 | kTcpEnded | kHasVlan | kHasSrcMac | kHasDstMac
    };
    static_assert(sizeof(HotKey) == 20 && offsetof(HotKey, ifindex) == 8 &&
                      offsetof(HotKey, protocol) == 16 && offsetof(HotKey, state) == 19,
                  "KeyWords reads a HotKey as 8 + 8 + 4 bytes");
    // A key as the three words a HotKey holds (little-endian loads of its bytes): the packet's
    // side of the compare, built once per packet. w2 carries kLive, and kIpv6 for IPv6.
    struct KeyWords {
        std::uint64_t w0;  // both addresses (IPv4), or their first 4 bytes each (IPv6)
        std::uint64_t w1;  // ifindex and ports
        std::uint32_t w2;  // protocol, ToS, (flags: ignored), state
    };
    // What of w2 the compare looks at: protocol, ToS and the state bits kLive and kIpv6.
    static constexpr std::uint32_t kW2Mask = 0xFFFFu | std::uint32_t{kLive | kIpv6} << 24;
    static_assert(std::endian::native == std::endian::little,
                  "KeyWords and kW2Mask read a HotKey's bytes as little-endian words");
    struct alignas(64) Entry {
        HotKey key;
        std::uint32_t packets_low;  // packets: low 32 bits here, high 16 bits in `counts`
        std::uint64_t counts;       // bytes in the low 48 bits, packets' high 16 bits above
        Timestamp first;            // earliest and latest packet time: what is exported
        Timestamp last;
        // The packet clock at the first packet plus the active timeout, and at the latest packet
        // plus the idle timeout (tcp-end once the flow has seen FIN or RST).
        Timestamp active_deadline;
        Timestamp idle_deadline;

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

    // One packet, with stage two's entry (or kNil). True if a flow ended (written to `ended`).
    [[gnu::always_inline]] bool update_one(const PacketMeta& m, std::uint64_t hash,
                                           std::uint32_t hint, FlowRecord& ended) {
        stats_.bytes += m.l3_bytes;
        const KeyWords want = key_words(m.key);
        if (hint == kNil || !matches(hint, m, want)) [[unlikely]]
            return update_searched(m, hash, want, ended);
        return update_found(hint, m, ended);
    }
    // Packet `m` of live flow `idx`.
    [[gnu::always_inline]] bool update_found(std::uint32_t idx, const PacketMeta& m,
                                             FlowRecord& ended) {
        Entry& e = pool_[idx];
        const Timestamp now = m.clock;
        // Unsigned: a packet from before the flow's first wraps around to a huge distance.
        const std::uint64_t since_first =
            static_cast<std::uint64_t>(m.ts.ns) - static_cast<std::uint64_t>(e.first.ns);
        const bool rare = now >= std::min(e.idle_deadline, e.active_deadline) ||
                          (m.tcp_flags & kTcpSessionFlags) != 0 || since_first >= active_ns_ ||
                          e.packets_low >= packets_trigger_ || e.bytes() + m.l3_bytes > max_bytes_;
        if (rare) [[unlikely]]
            return update_rare(idx, m, ended);
        // No counter limit near (so packets_low does not wrap), no FIN/RST (so the flow stays
        // on its recency list), not before its first packet.
        ++e.packets_low;
        e.counts += m.l3_bytes;
        e.key.tcp_flags |= m.tcp_flags;
        e.last = std::max(e.last, m.ts);
        e.idle_deadline = now + idle_timeout_[recency_of(e)];
        List& list = recency_[recency_of(e)];
        if (list.tail != idx) {  // already last in line: nothing to move
            unlink(list, recency_links_, idx);
            link_tail(list, recency_links_, idx);
        }
        return false;
    }
    bool update_searched(const PacketMeta& m, std::uint64_t hash, const KeyWords& want,
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
    [[nodiscard]] static KeyWords key_words(const FlowKey& k) {
        KeyWords w;
        std::uint32_t src, dst;
        std::memcpy(&src, k.src_addr.data(), 4);
        std::memcpy(&dst, k.dst_addr.data(), 4);
        w.w0 = src | std::uint64_t{dst} << 32;
        std::memcpy(&w.w1, &k.ifindex, 8);  // ifindex, src_port, dst_port: as in HotKey
        w.w2 = k.protocol | std::uint32_t{k.tos} << 8 |
               std::uint32_t(kLive | (k.is_ipv6() ? kIpv6 : 0)) << 24;
        return w;
    }
    // Whether entry `idx` holds the live flow of `m`'s key (`want` = key_words(m.key)).
    [[gnu::always_inline]] bool matches(std::uint32_t idx, const PacketMeta& m,
                                        const KeyWords& want) const {
        const Entry& e = pool_[idx];
        std::uint64_t e0, e1;
        std::uint32_t e2;
        const auto* p = reinterpret_cast<const unsigned char*>(&e.key);
        std::memcpy(&e0, p, 8);
        std::memcpy(&e1, p + 8, 8);
        std::memcpy(&e2, p + 16, 4);
        if (((e0 ^ want.w0) | (e1 ^ want.w1) | ((e2 ^ want.w2) & kW2Mask)) != 0) return false;
        return (e.key.state & kIpv6) == 0 ||
               (v6_[idx].src == m.key.src_addr && v6_[idx].dst == m.key.dst_addr);
    }
    [[nodiscard]] std::uint32_t find(const PacketMeta& m, std::uint64_t hash,
                                     const KeyWords& want) const;
    [[nodiscard]] std::uint32_t probe_hint(std::uint64_t hash) const;
    void index_insert(std::uint32_t entry, std::uint64_t hash);
    void index_erase(std::uint32_t entry, std::uint64_t hash);

    void start_flow(std::uint32_t idx, const PacketMeta& m);
    void end_flow(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended);
    void retire(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended);
    [[nodiscard]] static std::size_t recency_of(const Entry& e) { return e.key.state & kTcpEnded; }
    // The packet clock at the flow's latest packet.
    [[nodiscard]] Timestamp touched(const Entry& e) const {
        return e.idle_deadline + Duration{-idle_timeout_[recency_of(e)].count()};
    }
    [[gnu::always_inline]] static void link_tail(List& list, TableArray<Links>& links,
                                                 std::uint32_t idx) {
        Links& l = links[idx];
        l.prev = list.tail;
        l.next = kNil;
        if (list.tail != kNil) {
            links[list.tail].next = idx;
        } else {
            list.head = idx;
        }
        list.tail = idx;
    }
    [[gnu::always_inline]] static void unlink(List& list, TableArray<Links>& links,
                                              std::uint32_t idx) {
        const Links l = links[idx];
        if (l.prev != kNil) {
            links[l.prev].next = l.next;
        } else {
            list.head = l.next;
        }
        if (l.next != kNil) {
            links[l.next].prev = l.prev;
        } else {
            list.tail = l.prev;
        }
    }

    FlowShardConfig config_;
    std::uint64_t max_packets_;
    std::uint64_t max_bytes_;
    // packets_low at or above this takes the rare path: the packet limit itself where it fits in
    // 32 bits, else the limit's low 32 bits. Either way the packet that would pass the limit
    // takes it, and so does the packet at packets_low = 2^32 - 1, which carries into the high
    // bits (any trigger is at most that). The usual limits (2^32 - 1 for v5, 2^48 - 1 for the
    // 48-bit counters) send only those packets; an odd one like 2^32 sends more, never fewer.
    std::uint32_t packets_trigger_;
    std::uint64_t active_ns_;
    std::array<Duration, 2> idle_timeout_;  // by kTcpEnded: inactive, tcp-end
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
    // Stage two's finding per packet of the batch: the entry whose fingerprint matched, or kNil.
    // Only a hint: earlier packets of the batch may have moved things since.
    std::uint32_t hint_[kMaxBatch]{};
};

}  // namespace spanflow
