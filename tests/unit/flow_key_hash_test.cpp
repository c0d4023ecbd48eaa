// hash_key must spread the structured keys real traffic has (one field counting up, the rest
// fixed) evenly over both of its uses: the low 32 bits pick the shard, the top bits the table's
// home slot and fingerprint. A hash that left either half poorly mixed would load one worker or
// one run of the index; this catches it with a chi-square test per key family.
#include <doctest/doctest.h>

#include <functional>
#include <vector>

#include "probe/core/flow_key.hpp"
#include "probe/runtime/pipeline.hpp"

namespace {

using namespace spanflow;

// Chi-square of `counts` against a uniform spread, divided by its degrees of freedom: about 1
// for a good hash; 1.5 is far beyond chance at these sizes (a standard deviation is 0.09 for
// 255 degrees of freedom).
double chi_square_per_dof(const std::vector<std::uint64_t>& counts, std::uint64_t total) {
    const double expected = static_cast<double>(total) / static_cast<double>(counts.size());
    double chi = 0;
    for (std::uint64_t c : counts) {
        const double d = static_cast<double>(c) - expected;
        chi += d * d / expected;
    }
    return chi / static_cast<double>(counts.size() - 1);
}

FlowKey v4_key() {
    FlowKey k;
    k.ip_version = 4;
    k.src_addr = {10, 0, 0, 0};
    k.dst_addr = {192, 168, 1, 1};
    k.protocol = kProtoTcp;
    k.src_port = 1024;
    k.dst_port = 443;
    return k;
}

}  // namespace

TEST_SUITE("flow") {
    TEST_CASE("hash_key spreads keys that differ in one field over shards and home slots") {
        constexpr std::uint32_t kKeys = 1 << 18;
        const std::vector<std::pair<const char*, std::function<void(FlowKey&, std::uint32_t)>>>
            families = {
                {"IPv4 source address",
                 [](FlowKey& k, std::uint32_t i) {
                     k.src_addr = {10, std::uint8_t(i >> 16), std::uint8_t(i >> 8),
                                   std::uint8_t(i)};
                 }},
                {"IPv4 destination address",
                 [](FlowKey& k, std::uint32_t i) {
                     k.dst_addr = {192, std::uint8_t(i >> 16), std::uint8_t(i >> 8),
                                   std::uint8_t(i)};
                 }},
                {"source port and ToS",
                 [](FlowKey& k, std::uint32_t i) {
                     k.src_port = static_cast<std::uint16_t>(i);
                     k.tos = static_cast<std::uint8_t>(i >> 16);
                 }},
                {"destination port and protocol",
                 [](FlowKey& k, std::uint32_t i) {
                     k.dst_port = static_cast<std::uint16_t>(i);
                     k.protocol = static_cast<std::uint8_t>(i >> 16);
                 }},
                {"ifindex", [](FlowKey& k, std::uint32_t i) { k.ifindex = i; }},
                {"IPv6 interface id",
                 [](FlowKey& k, std::uint32_t i) {
                     k.ip_version = 6;
                     k.src_addr = {0x20, 0x01, 0x0d, 0xb8};
                     k.src_addr[13] = static_cast<std::uint8_t>(i >> 16);
                     k.src_addr[14] = static_cast<std::uint8_t>(i >> 8);
                     k.src_addr[15] = static_cast<std::uint8_t>(i);
                 }},
            };
        for (const auto& [name, vary] : families) {
            CAPTURE(name);
            std::vector<std::uint64_t> shards(256, 0), homes(256, 0), low_homes(256, 0);
            for (std::uint32_t i = 0; i < kKeys; ++i) {
                FlowKey k = v4_key();
                vary(k, i);
                const std::uint64_t h = hash_key(k);
                ++shards[Pipeline::shard_of(h, 256)];
                ++homes[h >> 56];               // a table's home slot: the top bits
                ++low_homes[(h >> 32) & 0xFF];  // the fingerprint's low bits (large tables)
            }
            CHECK(chi_square_per_dof(shards, kKeys) < 1.5);
            CHECK(chi_square_per_dof(homes, kKeys) < 1.5);
            CHECK(chi_square_per_dof(low_homes, kKeys) < 1.5);
        }
    }
}
