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
           flows * (sizeof(Entry) + sizeof(Ipv6Addresses) + sizeof(Extras) + 2 * sizeof(Links));
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
    recency_links_ = TableArray<Links>(flows);
    age_links_ = TableArray<Links>(flows);
}

// Stages one to three of the lookup, for the whole batch before any update: each stage issues
// its loads for all 32 packets, so their cache misses overlap.
void FlowShard::stage_batch(const std::uint64_t* hashes, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)  // 1: the home index lines
        __builtin_prefetch(&index_[home_slot(static_cast<std::uint32_t>(hashes[i] >> 32))]);
    for (std::size_t i = 0; i < n; ++i) {  // 2: the entry and its recency links
        const std::uint32_t idx = probe_hint(hashes[i]);
        hint_[i] = idx;
        if (idx != kNil) {
            __builtin_prefetch(&pool_[idx]);
            __builtin_prefetch(&recency_links_[idx]);
        }
    }
    for (std::size_t i = 0; i < n; ++i) {  // 3: the neighbours a move to the tail relinks
        if (hint_[i] == kNil) continue;
        const Links l = recency_links_[hint_[i]];
        if (l.prev != kNil) __builtin_prefetch(&recency_links_[l.prev]);
        if (l.next != kNil) __builtin_prefetch(&recency_links_[l.next]);
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
    e.idle_deadline = m.clock + idle_timeout_[recency_of(e)];
    if (m.key.is_ipv6()) v6_[idx] = Ipv6Addresses{m.key.src_addr, m.key.dst_addr};
    extras_[idx] = Extras{m.vlan_id, m.src_mac, m.dst_mac};
    link_tail(recency_[recency_of(e)], recency_links_, idx);
    link_tail(age_, age_links_, idx);
    ++stats_.flows_created;
}

// Writes the record of flow `idx` to `ended` and takes it off both lists; the caller decides
// whether the entry is reused at once or returned to the index and the free list.
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
    unlink(recency_[recency_of(e)], recency_links_, idx);
    unlink(age_, age_links_, idx);
    ++stats_.flows_ended[static_cast<std::size_t>(reason)];
}

// Ends flow `idx` for good: out of the index, back on the free list.
void FlowShard::retire(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended) {
    end_flow(idx, reason, ended);
    pool_[idx].key.state = 0;  // dead: a stale hint to it never matches
    index_erase(idx, hash_key(ended.key));
    recency_links_[idx].next = free_head_;
    free_head_ = idx;
    --live_;
}

// A packet whose entry stage two did not find: its flow is elsewhere in the index, or new.
bool FlowShard::update_searched(const PacketMeta& m, std::uint64_t hash, const KeyWords& want,
                                FlowRecord& ended) {
    const std::uint32_t idx = find(m, hash, want);
    if (idx == kNil) return insert(m, hash, m.clock, ended);
    return update_found(idx, m, ended);
}

// Packet `m` joins live flow `idx` whatever it carries: update_found's common case in full,
// with the packet counter's carry, a FIN or RST moving the flow to the tcp-end list, and a
// packet from before the flow's first.
void FlowShard::join(std::uint32_t idx, const PacketMeta& m) {
    Entry& e = pool_[idx];
    if (++e.packets_low == 0) e.counts += std::uint64_t{1} << 48;
    e.counts += m.l3_bytes;
    e.key.tcp_flags |= m.tcp_flags;
    e.first = std::min(e.first, m.ts);
    e.last = std::max(e.last, m.ts);
    const bool ends_tcp = (m.tcp_flags & (kTcpFin | kTcpRst)) && !(e.key.state & kTcpEnded);
    List& list = recency_[recency_of(e)];
    if (ends_tcp || list.tail != idx) {  // already last in line: nothing to move
        unlink(list, recency_links_, idx);
        if (ends_tcp) e.key.state |= kTcpEnded;
        link_tail(recency_[recency_of(e)], recency_links_, idx);
    }
    e.idle_deadline = m.clock + idle_timeout_[recency_of(e)];
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
            // Same key, same slot: the ended flow's entry carries the new one.
            end_flow(idx, *reason, ended);
            start_flow(idx, m);
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
    if (free_head_ != kNil) {
        idx = free_head_;
        free_head_ = recency_links_[idx].next;
    } else {
        idx = never_used_++;  // live_ < max_flows and no free entry: some were never used
    }
    ++live_;
    index_insert(idx, hash);
    start_flow(idx, m);
    return any_ended;
}

// Frees one entry for a new flow: a flow that has already timed out if there is one, else the
// least recently updated flow, which is evicted (reason 5).
bool FlowShard::make_room(Timestamp now, FlowRecord& ended) {
    if (expire_one(now, ended)) return true;
    std::uint32_t a = recency_[0].head;
    std::uint32_t b = recency_[1].head;
    std::uint32_t victim =
        (b == kNil || (a != kNil && touched(pool_[a]) <= touched(pool_[b]))) ? a : b;
    retire(victim, FlowEndReason::lack_of_resources, ended);
    ++stats_.evicted_table_full;
    return true;
}

bool FlowShard::expire_one(Timestamp now, FlowRecord& ended) {
    for (std::uint32_t head : {recency_[0].head, recency_[1].head, age_.head}) {
        if (head == kNil) continue;
        std::optional<FlowEndReason> reason = expiry(pool_[head], now);
        if (!reason) continue;
        retire(head, *reason, ended);
        return true;
    }
    return false;
}

bool FlowShard::remove_oldest(FlowEndReason reason, FlowRecord& ended) {
    std::uint32_t idx = age_.head;
    if (idx == kNil) return false;
    retire(idx, reason, ended);
    return true;
}

}  // namespace spanflow
