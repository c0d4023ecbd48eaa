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
//     wheel_    [ prev | next ]                        the timing wheel's links, 8 bytes; past
//                                                      the entries, one sentinel per bucket
//     probation_ [ prev | next ]                       the probation list's links (Eviction)
//
// A packet of a live flow touches two cache lines: its index line and its entry. Nothing else is
// read or written on the common path; the wheel is touched when a flow starts, ends, sees its
// first FIN or RST, or when the wheel reaches it, the probation list when a flow starts and at
// its second packet.
//
// The index has the power of two at or above 2 x max_flows slots (at most half full). A key's home
// slot is the top bits of its fingerprint, and collisions probe linearly. A lookup compares 32-bit
// fingerprints and reads an entry only where one matches, so a miss costs the index line alone (a
// false match: one in 4 billion). The full key is then compared: a hash match alone never merges
// two flows. Deletion shifts the following run back (no tombstones), so probe lengths never grow
// with churn; the shift reads each slot's home from its fingerprint, so it rehashes nothing.
//
// Memory per IPv4 flow at 10M flows: 64 (entry) + 14 (extras) + 8 (wheel) + 8 (probation) +
// 8 x 32M/10M (index) = 119 bytes; the IPv6 array is touched only by IPv6 flows.
//
// The staged lookup (DPDK's bulk lookup, update_hashed): for a batch of 32 packets, (1) prefetch
// every home index line, (2) probe each for a fingerprint match and prefetch the entry, (3)
// update. The misses of the whole batch overlap instead of following each other. Stage three
// trusts stage two's entry once its key compares equal (an ended flow's entry is marked dead, so
// it never does) and searches the index again only when it does not: a new flow, a fingerprint
// collision, or an earlier packet of the batch that moved things.
//
// The common packet (update_one, inline): key compare, one test for everything that could end
// the flow (deadline passed, FIN/SYN/RST, a time before the flow's first or an active timeout
// away from it, a counter limit near), then counters, last time and the idle deadline, all in
// the entry. Everything else takes the out-of-line paths.
//
// Expiry: a timing wheel, checked lazily. A flow's deadline is the earlier of its idle deadline
// (the packet clock at its latest packet plus the idle timeout, or tcp-end once it has seen FIN
// or RST) and its active deadline (the clock at its first packet plus the active timeout). Time
// is cut into granules of 2^k ns, k chosen so that the idle timeout spans half the wheel's 4096
// buckets (8.4 ms for 15 s; at least 1 ms); bucket g mod 4096 chains the flows filed at granule g.
// A flow is filed at its deadline when it starts. Its packets then move the deadline later in
// the entry only; the wheel is not told. When the wheel reaches a flow it compares the flow's
// deadline with the granule: due, the flow ends; not yet, it is filed again at its deadline. So
// an active flow is refiled about once per idle timeout, not once per packet. A deadline only
// moves earlier when a flow sees its first FIN or RST (tcp-end is shorter), and then the flow is
// refiled at once: a flow is never filed later than its deadline.
//
// The sweep reaches granule g once the packet clock has passed it, so it ends a flow at most one
// granule after its deadline, at most `budget` flows per call (and 8 x budget examined), so a
// million flows timing out in the same second leave a few per batch and never stall the worker.
// expire_due() ends every flow whose deadline has passed, exactly (the end of a run). A packet's
// arrival checks its flow's deadlines too, so a packet never joins a flow that had already timed
// out, whenever the sweep last ran; both paths compute the same reason from the same deadlines,
// so the flows exported do not depend on the sweep's schedule.
//
// Time. `now` is the packet clock stamped on each PacketMeta (the newest packet time so far), and
// never goes back between calls. For captures in time order the clock at a packet is the
// packet's own time. What a flow exports as first and last are its earliest and latest packet
// times, and a packet that would stretch a flow to `active` or more from first to last ends it
// with reason 2 and starts a new one.
//
// Eviction. A new flow in a full table makes room, in this order:
//   1. a flow that has timed out, its deadline in a granule before now's (the first the wheel
//      reaches), which ends with its own reason;
//   2. else the oldest flow still on probation: one that has shown a single packet so far. A flood
//      of one-packet flows (a SYN flood, a scan) then churns through its own kind, and a flow
//      that has shown two packets is evicted only when every flow in the table has (segmented
//      LRU's probation and protected segments, with promotion at the second packet);
//   3. else a flow whose deadline lies in the earliest granule of all, the first filed there.
// A flow evicted by 2 or 3 ends with its own reason if its deadline has passed, else with
// reason 5, counted by segment. The probation list is a FIFO through its own links (8 bytes a
// flow): a flow joins its tail when it starts. Its second packet only clears a bit in its entry
// (the common path writes that line anyway: promotion costs nothing); eviction unlinks the
// promoted flows it finds at the head on its way to the oldest flow still on probation, and a
// flow that ends leaves the list. Each link is made and undone once, so eviction stays O(1)
// amortized and never refuses a packet. The choice depends only on the packets and the sweep's
// calls, so a replay evicts the same flows every time. Counters are 48 bits wide (2.8e14 packets or
// bytes, days of a 100 Gb/s link): a flow about to pass that, or the export format's limit, ends
// (reason 5).
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
    std::uint64_t evicted_probation{0};   // of evicted_table_full: flows of a single packet
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

    // Ends at most `budget` flows whose deadline lies in a granule before `now`'s (examining at
    // most 8 x budget), each with its own reason. Returns how many.
    template <class Emit>
    std::size_t sweep(Timestamp now, std::size_t budget, Emit&& emit) {
        std::size_t visits =
            budget > kUnlimited / kVisitsPerEnd ? kUnlimited : budget * kVisitsPerEnd;
        std::size_t done = 0;
        if (live_ == 0) {
            cursor_ = std::max(cursor_, granule_of(now) - 1);
            return 0;
        }
        catch_up(now);
        while (done < budget) {
            const std::uint32_t idx = next_due(granule_of(now) - 1, now, visits);
            if (idx == kNil) break;
            retire(idx, *expiry(pool_[idx], now), ended_);
            emit(std::as_const(ended_));
            ++done;
        }
        return done;
    }

    // Ends every flow whose deadline has passed at `now`, exactly: the sweep without a budget,
    // then the flows of now's own granule that are due.
    template <class Emit>
    void expire_due(Timestamp now, Emit&& emit) {
        sweep(now, kUnlimited, emit);
        if (live_ == 0) return;
        const std::int64_t current = granule_of(now);
        const std::uint32_t bucket = sentinel(current);
        for_each_filed(bucket, [&](std::uint32_t idx) {
            if (std::optional<FlowEndReason> reason = expiry(pool_[idx], now)) {
                retire(idx, *reason, ended_);
                emit(std::as_const(ended_));
            } else if (const std::int64_t g = granule_of(deadline(pool_[idx])); g > current) {
                refile(idx);
            }
            return false;
        });
    }

    // Ends every flow with `reason` (shutdown, end of a replayed file: forced), in entry order.
    template <class Emit>
    void expire_all(FlowEndReason reason, Emit&& emit) {
        for (std::uint32_t idx = 0; idx < never_used_ && live_ != 0; ++idx) {
            if ((pool_[idx].key.state & kLive) == 0) continue;
            retire(idx, reason, ended_);
            emit(std::as_const(ended_));
        }
    }

    // The wheel's granule: how late the sweep may end a flow, and the resolution of eviction.
    [[nodiscard]] Duration granule() const { return Duration{std::int64_t{1} << granule_shift_}; }

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
    static constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
    static constexpr std::size_t kVisitsPerEnd = 8;
    static constexpr std::uint32_t kWheelBuckets = 4096;  // a power of two
    static constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
    static constexpr std::uint8_t kTcpEnded = 0x01;  // has seen FIN or RST: must stay bit 0
    static constexpr std::uint8_t kHasVlan = 0x02;
    static constexpr std::uint8_t kHasSrcMac = 0x04;
    static constexpr std::uint8_t kHasDstMac = 0x08;
    static constexpr std::uint8_t kIpv6 = 0x10;
    static constexpr std::uint8_t kLive = 0x20;  // holds a flow: a dead entry's key never matches
    static constexpr std::uint8_t kProbation = 0x40;  // one packet so far
    static constexpr std::uint8_t kListed = 0x80;     // linked on the probation list
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
        std::uint8_t state;  // kLive | kIpv6 | kTcpEnded | kHasVlan | kHasSrcMac | kHasDstMac |
                             // kProbation | kListed
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
    // Never constructed: table arrays are zeroed memory (table_memory.hpp), so no member has an
    // initializer (it would make the type non-trivial, which TableArray refuses).
    struct alignas(64) Entry {  // NOLINT(cppcoreguidelines-pro-type-member-init)
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

    void stage_batch(const std::uint64_t* hashes, std::size_t n);

    // One packet, with stage two's entry (or kNil). True if a flow ended (written to `ended`).
    [[gnu::always_inline]] bool update_one(const PacketMeta& m, std::uint64_t hash,
                                           std::uint32_t hint, FlowRecord& ended) {
        stats_.bytes += m.l3_bytes;
        const KeyWords want = key_words(m.key);
        if (hint == kNil || !matches(hint, m, want)) [[unlikely]]
            return update_searched(m, hash, ended);  // recomputes `want`: no spill on this path
        return update_found(hint, m, ended);
    }
    // Packet `m` of live flow `idx`.
    [[gnu::always_inline]] bool update_found(std::uint32_t idx, const PacketMeta& m,
                                             FlowRecord& ended) {
        Entry& e = pool_[idx];
        const Timestamp now = m.clock;
        // Unsigned: a packet from before the flow's first wraps around to a huge distance. The
        // byte test reads `counts` whole: packets' high bits above the bytes make any flow past
        // 2^32 packets take the rare path too (max_bytes_ < 2^48).
        const std::uint64_t since_first =
            static_cast<std::uint64_t>(m.ts.ns) - static_cast<std::uint64_t>(e.first.ns);
        const bool rare = now >= std::min(e.idle_deadline, e.active_deadline) ||
                          (m.tcp_flags & kTcpSessionFlags) != 0 || since_first >= active_ns_ ||
                          e.packets_low >= packets_trigger_ || e.counts + m.l3_bytes > max_bytes_;
        if (rare) [[unlikely]]
            return update_rare(idx, m, ended);
        // No counter limit near (so packets_low does not wrap), no FIN/RST (so the deadline only
        // moves later: the wheel need not know), not before its first packet.
        ++e.packets_low;
        e.counts += m.l3_bytes;
        e.key.tcp_flags |= m.tcp_flags;
        e.key.state &= static_cast<std::uint8_t>(~kProbation);  // two packets: promoted
        e.last = std::max(e.last, m.ts);
        e.idle_deadline = now + idle_timeout_[e.key.state & kTcpEnded];
        return false;
    }
    bool update_searched(const PacketMeta& m, std::uint64_t hash, FlowRecord& ended);
    void join(std::uint32_t idx, const PacketMeta& m);
    bool update_rare(std::uint32_t idx, const PacketMeta& m, FlowRecord& ended);
    bool insert(const PacketMeta& m, std::uint64_t hash, Timestamp now, FlowRecord& ended);
    bool make_room(Timestamp now, FlowRecord& ended);
    std::uint32_t next_due(std::int64_t limit, Timestamp now, std::size_t& visits);
    [[nodiscard]] std::int64_t next_occupied(std::int64_t granule) const;

    [[nodiscard]] std::optional<FlowEndReason> expiry(const Entry& e, Timestamp now) const;
    [[nodiscard]] std::size_t home_slot(std::uint32_t fingerprint) const {
        return fingerprint >> shift_;
    }
    [[nodiscard]] static KeyWords key_words(const FlowKey& k) {
        KeyWords w{};
        std::uint32_t src, dst;
        std::memcpy(&src, k.src_addr.data(), 4);
        std::memcpy(&dst, k.dst_addr.data(), 4);
        w.w0 = src | std::uint64_t{dst} << 32;
        std::memcpy(&w.w1, &k.ifindex, 8);  // ifindex, src_port, dst_port: as in HotKey
        // protocol, ToS, ip_version (4 or 6: bit 1 set only for 6) and the zero byte.
        std::uint32_t rest;
        std::memcpy(&rest, &k.protocol, 4);
        static_assert(kIpv6 == 1u << 4 &&
                      offsetof(FlowKey, tos) == offsetof(FlowKey, protocol) + 1 &&
                      offsetof(FlowKey, ip_version) == offsetof(FlowKey, protocol) + 2);
        w.w2 = (rest & 0xFFFFu) | std::uint32_t{kLive} << 24 | ((rest << 11) & (1u << 28));
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

    // The timing wheel. Lists are circular through sentinels past the entries: bucket b's at
    // max_flows + b, the pending list's (the flows of the cursor's granule not yet examined)
    // after them.
    [[nodiscard]] static Timestamp deadline(const Entry& e) {
        return std::min(e.idle_deadline, e.active_deadline);
    }
    [[nodiscard]] std::int64_t granule_of(Timestamp t) const { return t.ns >> granule_shift_; }
    [[nodiscard]] std::uint32_t sentinel(std::int64_t granule) const {
        return config_.max_flows + static_cast<std::uint32_t>(static_cast<std::uint64_t>(granule) &
                                                              (kWheelBuckets - 1));
    }
    [[nodiscard]] std::uint32_t pending() const { return config_.max_flows + kWheelBuckets; }
    // Files entry `idx` at its deadline: in its granule's bucket, or pending if the cursor has
    // reached that granule.
    void file(std::uint32_t idx) {
        const std::int64_t g = granule_of(deadline(pool_[idx]));
        if (g <= cursor_) {
            link_before(pending(), idx);
            return;
        }
        const std::uint32_t bucket = sentinel(g);
        mark(bucket, true);
        link_before(bucket, idx);
    }
    void mark(std::uint32_t bucket, bool occupied) {
        const std::uint32_t b = bucket - config_.max_flows;
        const std::uint64_t bit = std::uint64_t{1} << (b % 64);
        occupied_[b / 64] = occupied ? occupied_[b / 64] | bit : occupied_[b / 64] & ~bit;
    }
    // A cursor a turn or more behind the clock (a gap in the traffic, a sweep that fell behind):
    // every flow onto pending and the cursor to the clock, so that each flow is examined once,
    // not once per turn of the lag. Flows not due are then refiled within a turn of the clock.
    void catch_up(Timestamp now) {
        if (granule_of(now) - 1 - cursor_ >= std::int64_t{kWheelBuckets})
            rebase(granule_of(now) - 1);
    }
    void rebase(std::int64_t limit) {
        const std::uint32_t waiting = pending();
        for (std::uint32_t b = 0; b < kWheelBuckets; ++b) {
            const std::uint32_t s = config_.max_flows + b;
            const Links l = wheel_[s];
            if (l.next == s) continue;
            const std::uint32_t tail = wheel_[waiting].prev;
            wheel_[tail].next = l.next;
            wheel_[l.next].prev = tail;
            wheel_[l.prev].next = waiting;
            wheel_[waiting].prev = l.prev;
            wheel_[s] = Links{s, s};
        }
        occupied_.fill(0);
        cursor_ = limit;
    }
    void refile(std::uint32_t idx) {
        unlink(idx);
        file(idx);
    }
    // The probation list: flows in the order they started, circular through its sentinel; those
    // still of one packet carry kProbation, the promoted ones wait for eviction to unlink them.
    [[nodiscard]] std::uint32_t probation_sentinel() const { return config_.max_flows; }
    void enter_probation(std::uint32_t idx) {
        const std::uint32_t at = probation_sentinel();
        const std::uint32_t prev = probation_[at].prev;
        probation_[idx] = Links{prev, at};
        probation_[prev].next = idx;
        probation_[at].prev = idx;
        pool_[idx].key.state |= kProbation | kListed;
    }
    void unlist(std::uint32_t idx) {
        if ((pool_[idx].key.state & kListed) == 0) return;
        const Links l = probation_[idx];
        probation_[l.prev].next = l.next;
        probation_[l.next].prev = l.prev;
        pool_[idx].key.state &= static_cast<std::uint8_t>(~(kProbation | kListed));
    }
    // The oldest flow still of one packet (unlinking the promoted ones before it), or kNil.
    std::uint32_t oldest_on_probation() {
        for (;;) {
            const std::uint32_t idx = probation_[probation_sentinel()].next;
            if (idx == probation_sentinel()) return kNil;
            if ((pool_[idx].key.state & kProbation) != 0) return idx;
            unlist(idx);
        }
    }
    // Links `idx` before `at`: at a list's tail when `at` is its sentinel.
    void link_before(std::uint32_t at, std::uint32_t idx) {
        const std::uint32_t prev = wheel_[at].prev;
        wheel_[idx] = Links{prev, at};
        wheel_[prev].next = idx;
        wheel_[at].prev = idx;
    }
    void unlink(std::uint32_t idx) {
        const Links l = wheel_[idx];
        wheel_[l.prev].next = l.next;
        wheel_[l.next].prev = l.prev;
    }
    // Calls f(idx) for each flow on list `list` as it stands now, until f returns true; f may
    // unlink or refile the flow it is given, also to the tail of the same list (the walk stops
    // at the old tail).
    template <class F>
    void for_each_filed(std::uint32_t list, F&& f) {
        const std::uint32_t last = wheel_[list].prev;
        if (last == list) return;
        for (std::uint32_t idx = wheel_[list].next;;) {
            const std::uint32_t next = wheel_[idx].next;
            if (f(idx)) return;  // the callback found what it looked for
            if (idx == last) return;
            idx = next;
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
    TableArray<Links> wheel_;
    TableArray<Links> probation_;  // by entry, and the list's sentinel at max_flows
    std::size_t mask_{0};
    unsigned shift_{0};
    unsigned granule_shift_{20};
    std::int64_t cursor_{0};  // the wheel's granule: every earlier one has been examined
    // A bit per bucket, set when a flow is filed there, cleared when the cursor takes the bucket:
    // a clear bit is an empty bucket (a set one may be empty too, its flows gone since).
    std::array<std::uint64_t, kWheelBuckets / 64> occupied_{};
    std::uint32_t free_head_{kNil};  // entries freed by ended flows, chained through wheel next
    std::uint32_t never_used_{0};    // entries from here on have never held a flow
    std::size_t live_{0};
    FlowShardStats stats_{};
    FlowRecord ended_{};  // the record being handed to emit; reused, never allocated
    // Stage two's finding per packet of the batch: the entry whose fingerprint matched, or kNil.
    // Only a hint: earlier packets of the batch may have moved things since.
    std::uint32_t hint_[kMaxBatch]{};
};

}  // namespace spanflow
