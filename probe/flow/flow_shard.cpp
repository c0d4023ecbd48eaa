#include "probe/flow/flow_shard.hpp"

#include <bit>
#include <cstring>

namespace spanflow {

namespace {
std::size_t slot_count_for(std::size_t flows) {
    return std::max<std::size_t>(16, std::bit_ceil(flows * 2));
}
}  // namespace

std::size_t FlowShard::memory_bytes(std::uint32_t max_flows) {
    const std::size_t flows = std::max<std::uint32_t>(max_flows, 1);
    return slot_count_for(flows) * sizeof(Slot) +
           flows * (sizeof(Entry) + sizeof(Ipv6Addresses) + sizeof(Extras) + 2 * sizeof(Links)) +
           (kWheelBuckets + 2) * sizeof(Links);
}

FlowShard::FlowShard(const FlowShardConfig& config)
    : config_(config),
      max_packets_(std::min(config.max_packets, kCounterMax)),
      max_bytes_(std::min(config.max_bytes, kCounterMax)),
      packets_trigger_(
          static_cast<std::uint32_t>(max_packets_)),  // the whole limit, or its low word
      active_ns_(static_cast<std::uint64_t>(config.timeouts.active.count())),
      idle_timeout_{config.timeouts.inactive, config.timeouts.tcp_end} {
    if (config_.max_flows == 0) config_.max_flows = 1;
    const std::size_t flows = config_.max_flows;
    const std::size_t slots = slot_count_for(flows);
    mask_ = slots - 1;
    shift_ = static_cast<unsigned>(32 - std::countr_zero(slots));
    index_ = TableArray<Slot>(slots);
    pool_ = TableArray<Entry>(flows);
    v6_ = TableArray<Ipv6Addresses>(flows);
    extras_ = TableArray<Extras>(flows);
    wheel_ = TableArray<Links>(flows + kWheelBuckets + 1);
    for (std::uint32_t list = config_.max_flows; list <= pending(); ++list)
        wheel_[list] = Links{list, list};  // empty
    probation_ = TableArray<Links>(flows + 1);
    probation_[probation_sentinel()] = Links{probation_sentinel(), probation_sentinel()};
    // Granules of at least 1 ms, so that the idle timeout spans at most half the wheel: a flow is
    // then filed at most half a turn ahead of the clock.
    const auto longest = static_cast<std::uint64_t>(
        std::max(config.timeouts.inactive, config.timeouts.tcp_end).count());
    while ((std::uint64_t{1} << granule_shift_) * (kWheelBuckets / 2) < longest) ++granule_shift_;
}

// Stages one and two of the lookup, for the whole batch before any update: each stage issues
// its loads for all 32 packets, so their cache misses overlap.
void FlowShard::stage_batch(const std::uint64_t* hashes, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)  // 1: the home index lines
        __builtin_prefetch(&index_[home_slot(static_cast<std::uint32_t>(hashes[i] >> 32))]);
    for (std::size_t i = 0; i < n; ++i) {  // 2: the entry
        const std::uint32_t idx = probe_hint(hashes[i]);
        hint_[i] = idx;
        if (idx != kNil) __builtin_prefetch(&pool_[idx]);
    }
}

// Stage two's guess: the entry of the first slot whose fingerprint matches, or kNil.
std::uint32_t FlowShard::probe_hint(std::uint64_t hash) const {
    const auto fp = static_cast<std::uint32_t>(hash >> 32);
    for (std::size_t i = home_slot(fp);; i = (i + 1) & mask_) {
        const Slot s = index_[i];
        if (s.entry_plus_1 == 0) return kNil;
        if (s.fingerprint == fp) return s.entry_plus_1 - 1;
    }
}

std::uint32_t FlowShard::find(const PacketMeta& m, std::uint64_t hash, const KeyWords& want) const {
    const auto fp = static_cast<std::uint32_t>(hash >> 32);
    for (std::size_t i = home_slot(fp);; i = (i + 1) & mask_) {
        const Slot s = index_[i];
        if (s.entry_plus_1 == 0) return kNil;
        if (s.fingerprint == fp && matches(s.entry_plus_1 - 1, m, want)) return s.entry_plus_1 - 1;
    }
}

void FlowShard::index_insert(std::uint32_t entry, std::uint64_t hash) {
    const auto fp = static_cast<std::uint32_t>(hash >> 32);
    std::size_t i = home_slot(fp);
    while (index_[i].entry_plus_1 != 0) i = (i + 1) & mask_;
    index_[i] = Slot{fp, entry + 1};
}

// Backward-shift deletion: after emptying slot i, each following slot of the run moves back into
// the hole unless its home lies cyclically in (i, j], which would put it before its home.
void FlowShard::index_erase(std::uint32_t entry, std::uint64_t hash) {
    std::size_t i = home_slot(static_cast<std::uint32_t>(hash >> 32));
    while (index_[i].entry_plus_1 != entry + 1) i = (i + 1) & mask_;
    for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
        const Slot s = index_[j];
        if (s.entry_plus_1 == 0) break;
        const std::size_t home = home_slot(s.fingerprint);
        if (((j - home) & mask_) >= ((j - i) & mask_)) {
            index_[i] = s;
            i = j;
        }
    }
    index_[i] = Slot{0, 0};
}

std::optional<FlowEndReason> FlowShard::expiry(const Entry& e, Timestamp now) const {
    const bool tcp_ended = (e.key.state & kTcpEnded) != 0;
    if (e.active_deadline < e.idle_deadline) {
        if (now >= e.active_deadline) return FlowEndReason::active;
    } else if (now >= e.idle_deadline) {
        return tcp_ended ? FlowEndReason::end_of_flow : FlowEndReason::idle;
    }
    return std::nullopt;
}

void FlowShard::start_flow(std::uint32_t idx, const PacketMeta& m) {
    unlist(idx);  // the flow this entry held, ended by this packet, may still be listed
    Entry& e = pool_[idx];
    std::memcpy(&e.key.src4, m.key.src_addr.data(), 4);
    std::memcpy(&e.key.dst4, m.key.dst_addr.data(), 4);
    e.key.ifindex = m.key.ifindex;
    e.key.src_port = m.key.src_port;
    e.key.dst_port = m.key.dst_port;
    e.key.protocol = m.key.protocol;
    e.key.tos = m.key.tos;
    e.key.tcp_flags = m.tcp_flags;
    e.key.state =
        static_cast<std::uint8_t>(kLive | ((m.tcp_flags & (kTcpFin | kTcpRst)) ? kTcpEnded : 0) |
                                  (m.has_vlan ? kHasVlan : 0) | (m.has_src_mac ? kHasSrcMac : 0) |
                                  (m.has_dst_mac ? kHasDstMac : 0) | (m.key.is_ipv6() ? kIpv6 : 0));
    e.packets_low = 1;
    e.counts = m.l3_bytes;
    e.first = e.last = m.ts;
    e.active_deadline = m.clock + config_.timeouts.active;
    e.idle_deadline = m.clock + idle_timeout_[e.key.state & kTcpEnded];
    if (m.key.is_ipv6()) v6_[idx] = Ipv6Addresses{m.key.src_addr, m.key.dst_addr};
    extras_[idx] = Extras{m.vlan_id, m.src_mac, m.dst_mac};
    enter_probation(idx);
    ++stats_.flows_created;
}

// Writes the record of flow `idx` to `ended`; the caller decides whether the entry is reused at
// once (and refiled) or taken off the wheel and returned to the index and the free list.
void FlowShard::end_flow(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended) {
    const Entry& e = pool_[idx];
    const Extras& x = extras_[idx];
    ended.key = FlowKey{};
    if (e.key.state & kIpv6) {
        ended.key.src_addr = v6_[idx].src;
        ended.key.dst_addr = v6_[idx].dst;
        ended.key.ip_version = 6;
    } else {
        std::memcpy(ended.key.src_addr.data(), &e.key.src4, 4);
        std::memcpy(ended.key.dst_addr.data(), &e.key.dst4, 4);
        ended.key.ip_version = 4;
    }
    ended.key.ifindex = e.key.ifindex;
    ended.key.src_port = e.key.src_port;
    ended.key.dst_port = e.key.dst_port;
    ended.key.protocol = e.key.protocol;
    ended.key.tos = e.key.tos;
    ended.packets = e.packets();
    ended.bytes = e.bytes();
    ended.first = e.first;
    ended.last = e.last;
    ended.tcp_flags = e.key.tcp_flags;
    ended.end_reason = reason;
    ended.has_vlan = (e.key.state & kHasVlan) != 0;
    ended.has_src_mac = (e.key.state & kHasSrcMac) != 0;
    ended.has_dst_mac = (e.key.state & kHasDstMac) != 0;
    ended.vlan_id = x.vlan_id;
    ended.src_mac = x.src_mac;
    ended.dst_mac = x.dst_mac;
    ++stats_.flows_ended[static_cast<std::size_t>(reason)];
}

// Ends flow `idx` for good: off the wheel, out of the index, back on the free list.
void FlowShard::retire(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended) {
    end_flow(idx, reason, ended);
    unlist(idx);
    pool_[idx].key.state = 0;  // dead: a stale hint to it never matches
    index_erase(idx, hash_key(ended.key));
    unlink(idx);
    wheel_[idx].next = free_head_;
    free_head_ = idx;
    --live_;
}

// A packet whose entry stage two did not find: its flow is elsewhere in the index, or new.
bool FlowShard::update_searched(const PacketMeta& m, std::uint64_t hash, FlowRecord& ended) {
    const KeyWords want = key_words(m.key);
    const std::uint32_t idx = find(m, hash, want);
    if (idx == kNil) return insert(m, hash, m.clock, ended);
    return update_found(idx, m, ended);
}

// Packet `m` joins live flow `idx` whatever it carries: update_found's common case in full,
// with the packet counter's carry, a FIN or RST shortening the idle timeout (the flow is refiled:
// its deadline may now come earlier than where the wheel has it), and a packet from before the
// flow's first.
void FlowShard::join(std::uint32_t idx, const PacketMeta& m) {
    pool_[idx].key.state &= static_cast<std::uint8_t>(~kProbation);  // two packets or more
    Entry& e = pool_[idx];
    if (++e.packets_low == 0) e.counts += std::uint64_t{1} << 48;
    e.counts += m.l3_bytes;
    e.key.tcp_flags |= m.tcp_flags;
    e.first = std::min(e.first, m.ts);
    e.last = std::max(e.last, m.ts);
    const bool ends_tcp = (m.tcp_flags & (kTcpFin | kTcpRst)) && !(e.key.state & kTcpEnded);
    if (ends_tcp) e.key.state |= kTcpEnded;
    e.idle_deadline = m.clock + idle_timeout_[e.key.state & kTcpEnded];
    if (ends_tcp) refile(idx);
}

// A packet of a live flow that may end it: the checks in SEMANTICS.md's order, then either the
// flow ends and the packet starts a new one in the same entry, or the packet joins it.
bool FlowShard::update_rare(std::uint32_t idx, const PacketMeta& m, FlowRecord& ended) {
    const Timestamp now = m.clock;
    {
        Entry& e = pool_[idx];
        std::optional<FlowEndReason> reason = expiry(e, now);
        if (!reason && (e.key.state & kTcpEnded) && (m.tcp_flags & kTcpSyn))
            reason = FlowEndReason::end_of_flow;
        // A packet from before the flow's start (a capture going back in time) must not stretch
        // the flow past the active timeout: no flow spans more than `active` from first to last.
        if (!reason && std::max(e.last, m.ts) - std::min(e.first, m.ts) >= config_.timeouts.active)
            reason = FlowEndReason::active;
        if (!reason && (e.packets() + 1 > max_packets_ || e.bytes() + m.l3_bytes > max_bytes_))
            reason = FlowEndReason::lack_of_resources;
        if (reason) {
            // Same key, same slot: the ended flow's entry carries the new one, refiled at its own
            // deadline (a FIN can make it earlier than the ended flow's).
            end_flow(idx, *reason, ended);
            start_flow(idx, m);
            refile(idx);
            return true;
        }
    }
    join(idx, m);
    return false;
}

// A packet of no live flow: a new one, after making room if the table is full.
bool FlowShard::insert(const PacketMeta& m, std::uint64_t hash, Timestamp now, FlowRecord& ended) {
    std::uint32_t idx;
    bool any_ended = false;
    if (live_ == config_.max_flows) any_ended = make_room(now, ended);
    if (live_ == 0) cursor_ = granule_of(now) - 1;  // an empty wheel starts at the clock
    if (free_head_ != kNil) {
        idx = free_head_;
        free_head_ = wheel_[idx].next;
    } else {
        idx = never_used_++;  // live_ < max_flows and no free entry: some were never used
    }
    ++live_;
    index_insert(idx, hash);
    start_flow(idx, m);
    file(idx);
    return any_ended;
}

// Frees one entry for a new flow, in the header's order ("Eviction"): a flow timed out in an
// earlier granule, else the oldest flow on probation, else the first flow of the earliest
// granule. The flows passed on the way are refiled at their deadlines, as the sweep would.
bool FlowShard::make_room(Timestamp now, FlowRecord& ended) {
    std::uint32_t victim = kNil;
    catch_up(now);
    // Pending: the cursor's granule, where everything due at or before it waits.
    for_each_filed(pending(), [&](std::uint32_t idx) {
        if (granule_of(deadline(pool_[idx])) <= cursor_) {
            victim = idx;
            return true;
        }
        refile(idx);
        return false;
    });
    // Then the granules after it: bucket g holds flows filed at g (or whole turns later), whose
    // deadlines are at g or later. Up to now's granule they are timed out; past it (`any`), the
    // first one found is the earliest deadline of all.
    auto search = [&](std::int64_t until) {
        for (std::int64_t g = cursor_ + 1; victim == kNil && g < until; ++g) {
            const std::int64_t step = next_occupied(g);
            if (step < 0) return;
            g += step;
            if (g >= until) return;
            for_each_filed(sentinel(g), [&](std::uint32_t idx) {
                const std::int64_t due = granule_of(deadline(pool_[idx]));
                if (due <= g) {
                    victim = idx;
                    return true;
                }
                if (sentinel(due) != sentinel(g)) refile(idx);
                return false;
            });
            // Emptied by earlier evictions: unmarked, so that the next search skips it.
            if (victim == kNil && wheel_[sentinel(g)].next == sentinel(g)) mark(sentinel(g), false);
        }
    };
    if (victim == kNil) search(granule_of(now));
    if (victim != kNil) {
        retire(victim, *expiry(pool_[victim], now), ended);  // it had timed out
        return true;
    }
    const std::uint32_t oldest = oldest_on_probation();
    const bool probation = oldest != kNil;
    if (probation) {
        victim = oldest;
    } else {
        search(std::numeric_limits<std::int64_t>::max());  // never empty: the table is full
    }
    if (std::optional<FlowEndReason> reason = expiry(pool_[victim], now)) {
        retire(victim, *reason, ended);
    } else {
        retire(victim, FlowEndReason::lack_of_resources, ended);
        ++stats_.evicted_table_full;
        if (probation) ++stats_.evicted_probation;
    }
    return true;
}

// How many granules after `granule` the next bucket marked occupied comes (0: its own), or -1
// when none is.
std::int64_t FlowShard::next_occupied(std::int64_t granule) const {
    constexpr std::uint32_t kWords = kWheelBuckets / 64;
    const auto first =
        static_cast<std::uint32_t>(static_cast<std::uint64_t>(granule) & (kWheelBuckets - 1));
    // The first word masked to the buckets at or after `first`, then whole words round the turn,
    // then the first word's buckets before `first`.
    std::uint32_t w = first / 64;
    std::uint64_t bits = occupied_[w] & (~std::uint64_t{0} << (first % 64));
    for (std::uint32_t seen = 0; seen <= kWords; ++seen) {
        if (bits != 0) {
            const std::uint32_t b = w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
            return (b - first) & (kWheelBuckets - 1);
        }
        w = (w + 1) % kWords;
        bits = occupied_[w];
    }
    return -1;
}

// The next flow due at granule `limit` or before whose deadline has passed at `now`, still on the
// wheel; or kNil once every granule up to `limit` has been examined, or `visits` are spent. The
// flows examined that are not due yet are refiled at their deadlines.
std::uint32_t FlowShard::next_due(std::int64_t limit, Timestamp now, std::size_t& visits) {
    const std::uint32_t waiting = pending();
    for (;;) {
        if (wheel_[waiting].next == waiting) {  // the cursor's granule is done: the next one
            if (cursor_ >= limit) return kNil;
            // Straight to the next granule whose bucket holds flows (or to `limit`): empty
            // buckets cost a word of the bitmap per 64. (A cursor a turn or more behind was
            // rebased first, so each flow is examined once, not once per turn.)
            const std::int64_t step = next_occupied(cursor_ + 1);
            if (step < 0 || cursor_ + 1 + step > limit) {
                cursor_ = limit;
                return kNil;
            }
            cursor_ += 1 + step;
            const std::uint32_t bucket = sentinel(cursor_);
            mark(bucket, false);
            const Links l = wheel_[bucket];
            if (l.next != bucket) {  // the bucket's list becomes the pending list
                wheel_[waiting] = l;
                wheel_[l.next].prev = waiting;
                wheel_[l.prev].next = waiting;
                wheel_[bucket] = Links{bucket, bucket};
            }
            continue;
        }
        if (visits == 0) return kNil;
        --visits;
        const std::uint32_t idx = wheel_[waiting].next;
        const Timestamp due = deadline(pool_[idx]);
        if (granule_of(due) > cursor_) {
            refile(idx);  // its packets moved the deadline: to its own granule
            continue;
        }
        // Due at the cursor's granule, which `now` has passed unless a caller's clock went back.
        return due <= now ? idx : kNil;
    }
}

}  // namespace spanflow
