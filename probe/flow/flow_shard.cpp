#include "probe/flow/flow_shard.hpp"

#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

namespace spanflow {

namespace {
// calloc: large blocks come straight from the kernel as zeroed pages that cost nothing until
// flows touch them, so a big table costs nothing at start, and a size the system cannot back
// fails here, cleanly. An all-zero Entry is a valid (unused) one.
template <class T>
std::unique_ptr<T[], FlowShard::FreeDeleter> allocate_zeroed(std::size_t count) {
    void* p = std::calloc(count, sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    return std::unique_ptr<T[], FlowShard::FreeDeleter>(static_cast<T*>(p));
}
}  // namespace

FlowShard::FlowShard(const FlowShardConfig& config) : config_(config) {
    if (config_.max_flows == 0) config_.max_flows = 1;
    std::size_t slots = std::bit_ceil(std::size_t{config_.max_flows} * 2);
    if (slots < 16) slots = 16;
    mask_ = slots - 1;
    shift_ = static_cast<unsigned>(64 - std::countr_zero(slots));
    static_assert(std::is_trivially_copyable_v<Entry> && std::is_trivially_destructible_v<Entry>,
                  "pool entries are zeroed memory, never constructed or destroyed one by one");
    pool_ = allocate_zeroed<Entry>(config_.max_flows);
    tags_ = allocate_zeroed<std::uint8_t>(slots);  // zero: every slot empty
    slots_ = allocate_zeroed<std::uint32_t>(slots);
}

// Stage one of the lookup: prefetch each key's home tags and slots for the whole batch, so the
// cache misses of 32 lookups overlap instead of following each other.
void FlowShard::prefetch_batch(const std::uint64_t* hashes, std::size_t n) const {
    if (!config_.prefetch) return;
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t home = home_slot(hashes[i]);
        __builtin_prefetch(&tags_[home]);
        __builtin_prefetch(&slots_[home]);
    }
}

std::uint32_t FlowShard::find(const FlowKey& key, std::uint64_t hash) const {
    std::uint8_t tag = tag_of(hash);
    for (std::size_t i = home_slot(hash);; i = (i + 1) & mask_) {
        std::uint8_t t = tags_[i];
        if (t == 0) return kNil;
        if (t == tag && pool_[slots_[i]].key == key) return slots_[i];
    }
}

void FlowShard::index_insert(std::uint32_t entry, std::uint64_t hash) {
    std::size_t i = home_slot(hash);
    while (tags_[i] != 0) i = (i + 1) & mask_;
    tags_[i] = tag_of(hash);
    slots_[i] = entry;
}

// Backward-shift deletion: after emptying slot i, each following entry of the run moves back
// into the hole unless its home lies cyclically in (i, j], which would put it before its home.
void FlowShard::index_erase(std::uint32_t entry) {
    std::size_t i = home_slot(hash_key(pool_[entry].key));
    while (slots_[i] != entry || tags_[i] == 0) i = (i + 1) & mask_;
    for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
        if (tags_[j] == 0) break;
        std::size_t home = home_slot(hash_key(pool_[slots_[j]].key));
        if (((j - home) & mask_) >= ((j - i) & mask_)) {
            tags_[i] = tags_[j];
            slots_[i] = slots_[j];
            i = j;
        }
    }
    tags_[i] = 0;
}

void FlowShard::link_tail(List& list, std::uint32_t idx, LinksOf links) {
    Links& l = pool_[idx].*links;
    l.prev = list.tail;
    l.next = kNil;
    if (list.tail != kNil) {
        (pool_[list.tail].*links).next = idx;
    } else {
        list.head = idx;
    }
    list.tail = idx;
}

void FlowShard::unlink(List& list, std::uint32_t idx, LinksOf links) {
    Links& l = pool_[idx].*links;
    if (l.prev != kNil) {
        (pool_[l.prev].*links).next = l.next;
    } else {
        list.head = l.next;
    }
    if (l.next != kNil) {
        (pool_[l.next].*links).prev = l.prev;
    } else {
        list.tail = l.prev;
    }
}

std::optional<FlowEndReason> FlowShard::expiry(const Entry& e, Timestamp now) const {
    bool tcp_ended = (e.state & kTcpEnded) != 0;
    Timestamp idle_deadline =
        e.touched + (tcp_ended ? config_.timeouts.tcp_end : config_.timeouts.inactive);
    Timestamp active_deadline = e.started + config_.timeouts.active;
    if (active_deadline < idle_deadline) {
        if (now >= active_deadline) return FlowEndReason::active;
    } else if (now >= idle_deadline) {
        return tcp_ended ? FlowEndReason::end_of_flow : FlowEndReason::idle;
    }
    return std::nullopt;
}

void FlowShard::start_flow(std::uint32_t idx, const PacketMeta& m) {
    Entry& e = pool_[idx];
    e.key = m.key;
    e.tcp_flags = m.tcp_flags;
    e.state = static_cast<std::uint8_t>(
        ((m.tcp_flags & (kTcpFin | kTcpRst)) ? kTcpEnded : 0) | (m.has_vlan ? kHasVlan : 0) |
        (m.has_src_mac ? kHasSrcMac : 0) | (m.has_dst_mac ? kHasDstMac : 0));
    e.vlan_id = m.vlan_id;
    e.packets = 1;
    e.bytes = m.l3_bytes;
    e.first = e.last = m.ts;
    e.started = e.touched = m.clock;
    e.src_mac = m.src_mac;
    e.dst_mac = m.dst_mac;
    link_tail(recency_list(e), idx, &Entry::recency);
    link_tail(age_, idx, &Entry::age);
    ++stats_.flows_created;
}

// Writes the record of flow `idx` to `ended` and takes it off both lists; the caller decides
// whether the entry is reused at once or returned to the index and the free list.
void FlowShard::end_flow(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended) {
    const Entry& e = pool_[idx];
    ended.key = e.key;
    ended.packets = e.packets;
    ended.bytes = e.bytes;
    ended.first = e.first;
    ended.last = e.last;
    ended.tcp_flags = e.tcp_flags;
    ended.end_reason = reason;
    ended.has_vlan = (e.state & kHasVlan) != 0;
    ended.has_src_mac = (e.state & kHasSrcMac) != 0;
    ended.has_dst_mac = (e.state & kHasDstMac) != 0;
    ended.vlan_id = e.vlan_id;
    ended.src_mac = e.src_mac;
    ended.dst_mac = e.dst_mac;
    unlink(recency_list(e), idx, &Entry::recency);
    unlink(age_, idx, &Entry::age);
    ++stats_.flows_ended[static_cast<std::size_t>(reason)];
}

// Ends flow `idx` for good: out of the index, back on the free list.
void FlowShard::retire(std::uint32_t idx, FlowEndReason reason, FlowRecord& ended) {
    index_erase(idx);
    end_flow(idx, reason, ended);
    pool_[idx].recency.next = free_head_;
    free_head_ = idx;
    --live_;
}

bool FlowShard::update_one(const PacketMeta& m, std::uint64_t hash, FlowRecord& ended) {
    stats_.packets += 1;
    stats_.bytes += m.l3_bytes;
    const Timestamp now = m.clock;
    std::uint32_t idx = find(m.key, hash);
    if (idx != kNil) {
        Entry& e = pool_[idx];
        std::optional<FlowEndReason> reason = expiry(e, now);
        if (!reason && (e.state & kTcpEnded) && (m.tcp_flags & kTcpSyn))
            reason = FlowEndReason::end_of_flow;
        // A packet from before the flow's start (a capture going back in time) must not stretch
        // the flow past the active timeout: no flow spans more than `active` from first to last.
        if (!reason && std::max(e.last, m.ts) - std::min(e.first, m.ts) >= config_.timeouts.active)
            reason = FlowEndReason::active;
        if (!reason &&
            (e.packets + 1 > config_.max_packets || e.bytes + m.l3_bytes > config_.max_bytes))
            reason = FlowEndReason::lack_of_resources;
        if (reason) {
            // Same key, same slot: the ended flow's entry carries the new one.
            end_flow(idx, *reason, ended);
            start_flow(idx, m);
            return true;
        }
        e.packets += 1;
        e.bytes += m.l3_bytes;
        e.tcp_flags |= m.tcp_flags;
        e.first = std::min(e.first, m.ts);
        e.last = std::max(e.last, m.ts);
        e.touched = now;
        bool ends_tcp = (m.tcp_flags & (kTcpFin | kTcpRst)) && !(e.state & kTcpEnded);
        if (ends_tcp || recency_list(e).tail != idx) {  // already last in line: nothing to move
            unlink(recency_list(e), idx, &Entry::recency);
            if (ends_tcp) e.state |= kTcpEnded;
            link_tail(recency_list(e), idx, &Entry::recency);
        }
        return false;
    }

    bool any_ended = false;
    if (live_ == config_.max_flows) any_ended = make_room(now, ended);
    if (free_head_ != kNil) {
        idx = free_head_;
        free_head_ = pool_[idx].recency.next;
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
        (b == kNil || (a != kNil && pool_[a].touched <= pool_[b].touched)) ? a : b;
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
