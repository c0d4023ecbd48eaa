// FlowShard against a plain model of SEMANTICS.md's expiry rules, written for clarity, not speed:
// a map of flows, each with its counters, times and the packet clock at its start and at its
// latest packet. Random packet streams (few keys, so that flows collide, end, restart and get
// evicted; times that jump back; FIN, SYN and RST; IPv4 and IPv6 keys that differ in one field
// only; counter limits; small tables), fed in batches of random size with sweeps of random
// budget in between. Every record the shard gives is checked as it comes:
//   - a flow ended by a packet (timed out, SYN after FIN, active span, counter limit) must be
//     the model's, at that packet, with the model's reason and totals;
//   - a flow ended to make room must follow flow_shard.hpp's "Eviction" rule: one that timed out
//     in an earlier granule than now's if there is one, else the oldest flow of a single packet
//     if there is one, else one of the earliest deadline granule; its reason its own if its
//     deadline has passed, else 5;
//   - a flow ended by a sweep must have timed out in a granule before the clock's; a sweep with
//     a budget it cannot spend must leave none that has, and the exact expire_due() none that
//     has timed out at all;
//   - the forced end must give every flow left.
// This pins down everything the table's fast paths take shortcuts for: the staged lookup's
// stale hints, the one-test common case, deadlines kept instead of times, and the lazy wheel.
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
    std::uint64_t seq{0};  // the order flows started in: the oldest one-packet flow goes first
    std::uint64_t packets{0}, bytes{0};
    Timestamp first{}, last{}, started{}, touched{};
    std::uint8_t flags{0};
    bool tcp_ended{false};
};

// The table as SEMANTICS.md and flow_shard.hpp describe it, with no index and no wheel. It reads
// the shard's records in the order the shard gave them (`got`, from `pos` on).
class Model {
  public:
    Model(const FlowShardConfig& c, Duration granule) : c_(c), granule_(granule.count()) {}

    void update(const PacketMeta& m, const std::vector<FlowRecord>& got, std::size_t& pos) {
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
                REQUIRE(pos < got.size());
                check(got[pos++], m.key, f, *reason);
                f = start(m);
                return;
            }
            ++f.packets;
            f.bytes += m.l3_bytes;
            f.flags |= m.tcp_flags;
            f.first = std::min(f.first, m.ts);
            f.last = std::max(f.last, m.ts);
            f.touched = now;
            if (m.tcp_flags & (kTcpFin | kTcpRst)) f.tcp_ended = true;
            return;
        }
        if (flows_.size() == c_.max_flows) {
            REQUIRE(pos < got.size());
            const FlowRecord& r = got[pos++];
            auto victim = flows_.find(r.key);
            REQUIRE(victim != flows_.end());
            // The earliest deadline granule of all; the victim's must be before now's (when any
            // flow's is) or that earliest one.
            std::int64_t earliest = granule_of(deadline(flows_.begin()->second));
            for (const auto& [key, f] : flows_)
                earliest = std::min(earliest, granule_of(deadline(f)));
            const std::int64_t mine = granule_of(deadline(victim->second));
            const ModelFlow* oldest_single = nullptr;  // the oldest flow of one packet
            for (const auto& [key, f] : flows_) {
                if (f.packets == 1 && (oldest_single == nullptr || f.seq < oldest_single->seq))
                    oldest_single = &f;
            }
            if (earliest < granule_of(now)) {
                CHECK(mine < granule_of(now));
            } else if (oldest_single != nullptr) {
                CHECK(&victim->second == oldest_single);
            } else {
                CHECK(mine == earliest);
            }
            const auto reason = expiry(victim->second, now);
            check(r, victim->first, victim->second,
                  reason.value_or(FlowEndReason::lack_of_resources));
            flows_.erase(victim);
        }
        flows_.emplace(m.key, start(m));
    }

    enum class Sweep {
        budgeted,  // sweep() with a small budget: what it ends timed out in an earlier granule
        whole,     // sweep() with a budget it cannot spend: every earlier granule is done
        exact,     // expire_due(): nothing that has timed out is left
    };
    // Checks the records of a sweep or of expire_due against the rule of `kind`.
    void timed_out(Timestamp now, const std::vector<FlowRecord>& got, Sweep kind) {
        for (const FlowRecord& r : got) {
            auto it = flows_.find(r.key);
            REQUIRE(it != flows_.end());
            const auto reason = expiry(it->second, now);
            REQUIRE(reason.has_value());
            if (kind != Sweep::exact) CHECK(granule_of(deadline(it->second)) < granule_of(now));
            check(r, it->first, it->second, *reason);
            flows_.erase(it);
        }
        for (const auto& [key, f] : flows_) {
            if (kind == Sweep::whole) CHECK(granule_of(deadline(f)) >= granule_of(now));
            if (kind == Sweep::exact) CHECK_FALSE(expiry(f, now).has_value());
        }
    }

    void forced(const std::vector<FlowRecord>& got) {
        CHECK(got.size() == flows_.size());
        for (const FlowRecord& r : got) {
            auto it = flows_.find(r.key);
            REQUIRE(it != flows_.end());
            check(r, it->first, it->second, FlowEndReason::forced);
            flows_.erase(it);
        }
        CHECK(flows_.empty());
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
        f.seq = next_seq_++;
        f.packets = 1;
        f.bytes = m.l3_bytes;
        f.first = f.last = m.ts;
        f.started = f.touched = m.clock;
        f.flags = m.tcp_flags;
        f.tcp_ended = (m.tcp_flags & (kTcpFin | kTcpRst)) != 0;
        return f;
    }

    Timestamp idle_deadline(const ModelFlow& f) const {
        return f.touched + (f.tcp_ended ? c_.timeouts.tcp_end : c_.timeouts.inactive);
    }
    Timestamp active_deadline(const ModelFlow& f) const { return f.started + c_.timeouts.active; }
    Timestamp deadline(const ModelFlow& f) const {
        return std::min(idle_deadline(f), active_deadline(f));
    }
    std::int64_t granule_of(Timestamp t) const {
        return t.ns >= 0 ? t.ns / granule_ : -((-t.ns + granule_ - 1) / granule_);
    }

    std::optional<FlowEndReason> expiry(const ModelFlow& f, Timestamp now) const {
        const Timestamp idle = idle_deadline(f);
        const Timestamp active = active_deadline(f);
        if (active < idle) {
            if (now >= active) return FlowEndReason::active;
        } else if (now >= idle) {
            return f.tcp_ended ? FlowEndReason::end_of_flow : FlowEndReason::idle;
        }
        return std::nullopt;
    }

    static void check(const FlowRecord& r, const FlowKey& k, const ModelFlow& f,
                      FlowEndReason reason) {
        CHECK(r.key == k);
        CHECK(r.packets == f.packets);
        CHECK(r.bytes == f.bytes);
        CHECK(r.first == f.first);
        CHECK(r.last == f.last);
        CHECK(r.tcp_flags == f.flags);
        CHECK(static_cast<int>(r.end_reason) == static_cast<int>(reason));
    }

    FlowShardConfig c_;
    std::int64_t granule_;
    std::uint64_t next_seq_{0};
    std::map<FlowKey, ModelFlow, KeyLess> flows_;
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
    TEST_CASE("FlowShard's records follow the model's rules on random streams") {
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
            Model model(config, shard.granule());
            const auto keys = make_keys(rng, 4 + rng() % 40);

            std::vector<FlowRecord> got;
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
                got.clear();
                shard.update(batch.data(), batch.size(), emit);
                std::size_t pos = 0;
                for (const PacketMeta& m : batch) model.update(m, got, pos);
                CHECK(pos == got.size());
                got.clear();
                if (rng() % 10 == 0) {  // now and then a sweep that finishes its granules
                    shard.sweep(clock, std::size_t{1} << 20, emit);
                    model.timed_out(clock, got, Model::Sweep::whole);
                } else {
                    const std::size_t budget = rng() % 4;
                    CHECK(shard.sweep(clock, budget, emit) <= budget);
                    model.timed_out(clock, got, Model::Sweep::budgeted);
                }
            }
            got.clear();
            shard.expire_due(clock, emit);
            model.timed_out(clock, got, Model::Sweep::exact);
            got.clear();
            shard.expire_all(FlowEndReason::forced, emit);
            model.forced(got);
            CHECK(shard.size() == 0);
        }
    }

    TEST_CASE("a full table evicts the oldest one-packet flow, else the one nearest its timeout") {
        FlowShardConfig config;
        config.max_flows = 3;
        FlowShard shard(config);
        std::vector<FlowRecord> got;
        auto emit = [&got](const FlowRecord& r) { got.push_back(r); };
        auto packet = [](std::uint16_t port, double t, std::uint8_t flags) {
            PacketMeta m;
            m.key.ip_version = 4;
            m.key.protocol = kProtoTcp;
            m.key.src_port = port;
            m.ts = m.clock = Timestamp::from_ns(static_cast<std::int64_t>(t * 1e9));
            m.l3_bytes = 60;
            m.tcp_flags = flags;
            return m;
        };
        const PacketMeta packets[] = {
            packet(1, 0.0, 0x02), packet(2, 1.0, 0x02),
            packet(3, 2.0, 0x02), packet(3, 3.0, 0x11),  // 3 closes: idle deadline 8 s
            packet(4, 4.0, 0x02),                        // full: 1, the oldest single
            packet(2, 5.0, 0x10),                        // 2 has two: deadline 20 s
            packet(4, 5.5, 0x10),                        // 4 too: 20.5 s
            packet(5, 6.0, 0x02),                        // full, none single: 3 (8 s)
            packet(6, 7.0, 0x02)};                       // full: 5, the only single
        for (const PacketMeta& m : packets) shard.update(&m, 1, emit);
        REQUIRE(got.size() == 3);
        CHECK(got[0].key.src_port == 1);
        CHECK(got[1].key.src_port == 3);
        CHECK(got[2].key.src_port == 5);
        for (const FlowRecord& r : got) CHECK(r.end_reason == FlowEndReason::lack_of_resources);
        CHECK(shard.stats().evicted_table_full == 3);
        CHECK(shard.stats().evicted_probation == 2);
    }
}
