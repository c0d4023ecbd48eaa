// FlowShard against a plain model of SEMANTICS.md's expiry rules, written for clarity, not speed:
// a map of flows, each with the sequence number of its creation and of its latest packet, and
// every "head of list" found by a linear search. Random packet streams (few keys, so that flows
// collide, end, restart and get evicted; times that jump back; FIN, SYN and RST; IPv4 and IPv6
// keys that differ in one field only; counter limits; small tables), fed in batches of random
// size with sweeps of random budget in between, must give the same records in the same order.
// This pins down everything the table's fast paths take shortcuts for: the staged lookup's
// stale hints, the one-test common case, deadlines kept instead of times, and the lists.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "probe/flow/flow_shard.hpp"

namespace {

using namespace spanflow;

struct ModelFlow {
    std::uint64_t packets{0}, bytes{0};
    Timestamp first{}, last{}, started{}, touched{};
    std::uint8_t flags{0};
    bool tcp_ended{false};
    std::uint64_t created_seq{0}, touched_seq{0};
};

// The table as SEMANTICS.md and flow_shard.hpp describe it, with no index and no lists.
class Model {
  public:
    explicit Model(const FlowShardConfig& c) : c_(c) {}

    void update(const PacketMeta& m, std::vector<FlowRecord>& out) {
        ++seq_;
        const Timestamp now = m.clock;
        auto it = flows_.find(m.key);
        if (it != flows_.end()) {
            ModelFlow& f = it->second;
            std::optional<FlowEndReason> reason = expiry(f, now);
            if (!reason && f.tcp_ended && (m.tcp_flags & kTcpSyn))
                reason = FlowEndReason::end_of_flow;
            if (!reason && std::max(f.last, m.ts) - std::min(f.first, m.ts) >= c_.timeouts.active)
                reason = FlowEndReason::active;
            if (!reason && (f.packets + 1 > max_packets() || f.bytes + m.l3_bytes > max_bytes()))
                reason = FlowEndReason::lack_of_resources;
            if (reason) {
                out.push_back(record(m.key, f, *reason));
                f = start(m);
                return;
            }
            ++f.packets;
            f.bytes += m.l3_bytes;
            f.flags |= m.tcp_flags;
            f.first = std::min(f.first, m.ts);
            f.last = std::max(f.last, m.ts);
            f.touched = now;
            f.touched_seq = seq_;
            if (m.tcp_flags & (kTcpFin | kTcpRst)) f.tcp_ended = true;
            return;
        }
        if (flows_.size() == c_.max_flows && !expire_one(now, out)) {
            // The least recently updated flow: the older of the two recency lists' heads, the
            // no-FIN list's on a tie.
            auto a = head([](const ModelFlow& f) { return !f.tcp_ended; }, &ModelFlow::touched_seq);
            auto b = head([](const ModelFlow& f) { return f.tcp_ended; }, &ModelFlow::touched_seq);
            auto victim =
                (b == flows_.end() || (a != flows_.end() && a->second.touched <= b->second.touched))
                    ? a
                    : b;
            out.push_back(record(victim->first, victim->second, FlowEndReason::lack_of_resources));
            flows_.erase(victim);
        }
        flows_.emplace(m.key, start(m));
    }

    void sweep(Timestamp now, std::size_t budget, std::vector<FlowRecord>& out) {
        for (std::size_t i = 0; i < budget && expire_one(now, out); ++i) {
        }
    }

    void expire_all(std::vector<FlowRecord>& out) {
        while (!flows_.empty()) {
            auto oldest = head([](const ModelFlow&) { return true; }, &ModelFlow::created_seq);
            out.push_back(record(oldest->first, oldest->second, FlowEndReason::forced));
            flows_.erase(oldest);
        }
    }

  private:
    struct KeyLess {
        bool operator()(const FlowKey& a, const FlowKey& b) const {
            return std::memcmp(&a, &b, sizeof(FlowKey)) < 0;
        }
    };

    std::uint64_t max_packets() const {
        return std::min(c_.max_packets, (std::uint64_t{1} << 48) - 1);
    }
    std::uint64_t max_bytes() const { return std::min(c_.max_bytes, (std::uint64_t{1} << 48) - 1); }

    ModelFlow start(const PacketMeta& m) {
        ModelFlow f;
        f.packets = 1;
        f.bytes = m.l3_bytes;
        f.first = f.last = m.ts;
        f.started = f.touched = m.clock;
        f.flags = m.tcp_flags;
        f.tcp_ended = (m.tcp_flags & (kTcpFin | kTcpRst)) != 0;
        f.created_seq = f.touched_seq = seq_;
        return f;
    }

    std::optional<FlowEndReason> expiry(const ModelFlow& f, Timestamp now) const {
        const Timestamp idle =
            f.touched + (f.tcp_ended ? c_.timeouts.tcp_end : c_.timeouts.inactive);
        const Timestamp active = f.started + c_.timeouts.active;
        if (active < idle) {
            if (now >= active) return FlowEndReason::active;
        } else if (now >= idle) {
            return f.tcp_ended ? FlowEndReason::end_of_flow : FlowEndReason::idle;
        }
        return std::nullopt;
    }

    // The flow with the smallest `order` among those `in` the list: the list's head.
    template <class In>
    std::map<FlowKey, ModelFlow, KeyLess>::iterator head(In in, std::uint64_t ModelFlow::*order) {
        auto best = flows_.end();
        for (auto it = flows_.begin(); it != flows_.end(); ++it) {
            if (in(it->second) && (best == flows_.end() || it->second.*order < best->second.*order))
                best = it;
        }
        return best;
    }

    // The sweep's step: the heads of the no-FIN list, the FIN list and the age list, in that
    // order; the first that has timed out ends.
    bool expire_one(Timestamp now, std::vector<FlowRecord>& out) {
        auto heads = {
            head([](const ModelFlow& f) { return !f.tcp_ended; }, &ModelFlow::touched_seq),
            head([](const ModelFlow& f) { return f.tcp_ended; }, &ModelFlow::touched_seq),
            head([](const ModelFlow&) { return true; }, &ModelFlow::created_seq)};
        for (auto it : heads) {
            if (it == flows_.end()) continue;
            if (auto reason = expiry(it->second, now)) {
                out.push_back(record(it->first, it->second, *reason));
                flows_.erase(it);
                return true;
            }
        }
        return false;
    }

    static FlowRecord record(const FlowKey& k, const ModelFlow& f, FlowEndReason reason) {
        FlowRecord r;
        r.key = k;
        r.packets = f.packets;
        r.bytes = f.bytes;
        r.first = f.first;
        r.last = f.last;
        r.tcp_flags = f.flags;
        r.end_reason = reason;
        return r;
    }

    FlowShardConfig c_;
    std::map<FlowKey, ModelFlow, KeyLess> flows_;
    std::uint64_t seq_{0};
};

// Few keys, differing in one field each, so that a compare that skipped a field would merge two.
std::vector<FlowKey> make_keys(std::mt19937_64& rng, std::size_t n) {
    std::vector<FlowKey> keys;
    FlowKey base;
    base.ip_version = 4;
    base.src_addr = {10, 0, 0, 1};
    base.dst_addr = {192, 0, 2, 7};
    base.protocol = kProtoTcp;
    base.src_port = 40000;
    base.dst_port = 443;
    for (std::size_t i = 0; i < n; ++i) {
        FlowKey k = base;
        switch (rng() % 9) {
            case 0:
                k.src_addr[3] = static_cast<std::uint8_t>(rng());
                break;
            case 1:
                k.dst_addr[0] = static_cast<std::uint8_t>(rng());
                break;
            case 2:
                k.src_port = static_cast<std::uint16_t>(rng());
                break;
            case 3:
                k.dst_port = static_cast<std::uint16_t>(rng());
                break;
            case 4:
                k.protocol = static_cast<std::uint8_t>(rng() % 3 ? kProtoUdp : kProtoSctp);
                break;
            case 5:
                k.tos = static_cast<std::uint8_t>(rng());
                break;
            case 6:
                k.ifindex = static_cast<std::uint32_t>(rng() % 4);
                break;
            default:  // IPv6, with the IPv4 key's first address bytes
                k.ip_version = 6;
                k.src_addr[15] = static_cast<std::uint8_t>(rng() % 3);
                k.dst_addr[8] = static_cast<std::uint8_t>(rng() % 2);
        }
        keys.push_back(k);
    }
    return keys;
}

}  // namespace

TEST_SUITE("flow") {
    TEST_CASE("FlowShard gives the model's records, in the model's order, on random streams") {
        constexpr std::int64_t kMs = 1'000'000;
        for (std::uint64_t seed = 1; seed <= 60; ++seed) {
            CAPTURE(seed);
            std::mt19937_64 rng(seed);
            FlowShardConfig config;
            config.max_flows = static_cast<std::uint32_t>(1 + rng() % 24);
            config.timeouts.active = std::chrono::milliseconds(3000 + rng() % 20000);
            config.timeouts.inactive = std::chrono::milliseconds(500 + rng() % 6000);
            config.timeouts.tcp_end = std::chrono::milliseconds(100 + rng() % 3000);
            if (seed % 3 == 0) {
                config.max_packets = 2 + rng() % 6;
                config.max_bytes = 500 + rng() % 2000;
            }
            // A packet limit whose low word is 0: every packet takes the rare path, which must
            // give the same records as the common one.
            if (seed % 7 == 0) config.max_packets = std::uint64_t{1} << 32;
            config.prefetch = seed % 5 != 0;
            FlowShard shard(config);
            Model model(config);
            const auto keys = make_keys(rng, 4 + rng() % 40);

            std::vector<FlowRecord> got, want;
            auto emit = [&got](const FlowRecord& r) { got.push_back(r); };
            Timestamp clock{};
            std::int64_t t = 1'700'000'000 * 1'000'000'000ll;
            for (int round = 0; round < 300; ++round) {
                std::vector<PacketMeta> batch(1 + rng() % 40);
                for (PacketMeta& m : batch) {
                    const auto jump = rng() % 100;
                    t += jump < 60   ? static_cast<std::int64_t>(rng() % 50) * kMs
                         : jump < 95 ? static_cast<std::int64_t>(rng() % 3000) * kMs
                                     : -static_cast<std::int64_t>(rng() % 5000) * kMs;
                    m.key = keys[rng() % keys.size()];
                    m.ts = Timestamp::from_ns(t);
                    clock = std::max(clock, m.ts);
                    m.clock = clock;
                    m.l3_bytes = static_cast<std::uint32_t>(40 + rng() % 1460);
                    const auto f = rng() % 20;
                    m.tcp_flags = f == 0   ? kTcpSyn
                                  : f == 1 ? kTcpFin
                                  : f == 2 ? kTcpRst
                                  : f < 10 ? 0x10
                                           : 0x18;
                }
                shard.update(batch.data(), batch.size(), emit);
                for (const PacketMeta& m : batch) model.update(m, want);
                const std::size_t budget = rng() % 4;
                shard.sweep(clock, budget, emit);
                model.sweep(clock, budget, want);
            }
            shard.sweep(clock, ~std::size_t{0}, emit);
            model.sweep(clock, ~std::size_t{0}, want);
            shard.expire_all(FlowEndReason::forced, emit);
            model.expire_all(want);

            REQUIRE(got.size() == want.size());
            for (std::size_t i = 0; i < got.size(); ++i) {
                CAPTURE(i);
                CHECK(got[i].key == want[i].key);
                CHECK(got[i].packets == want[i].packets);
                CHECK(got[i].bytes == want[i].bytes);
                CHECK(got[i].first == want[i].first);
                CHECK(got[i].last == want[i].last);
                CHECK(got[i].tcp_flags == want[i].tcp_flags);
                CHECK(static_cast<int>(got[i].end_reason) == static_cast<int>(want[i].end_reason));
            }
            CHECK(shard.size() == 0);
        }
    }
}
