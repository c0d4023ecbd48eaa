// The IOS seven-tuple of the outer IP header (SEMANTICS.md). Every byte of the key is defined
// (padding included) so keys compare and hash as plain memory.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace spanflow {

struct FlowKey {
    std::array<std::uint8_t, 16> src_addr{};  // IPv4 uses the first 4 bytes; the rest stay zero
    std::array<std::uint8_t, 16> dst_addr{};
    std::uint32_t ifindex{0};
    std::uint16_t src_port{0};
    std::uint16_t dst_port{0};  // ICMP/ICMPv6: type * 256 + code
    std::uint8_t protocol{0};
    std::uint8_t tos{0};         // IPv4 ToS byte or IPv6 traffic class, DSCP and ECN
    std::uint8_t ip_version{0};  // 4 or 6
    std::uint8_t reserved_{0};   // always zero: keeps memcmp and hashing exact

    [[nodiscard]] bool is_ipv6() const { return ip_version == 6; }
    friend bool operator==(const FlowKey& a, const FlowKey& b) {
        return std::memcmp(&a, &b, sizeof(FlowKey)) == 0;
    }
};
static_assert(sizeof(FlowKey) == 44,
              "FlowKey must have no implicit padding: it is hashed as bytes");

// A 64-bit hash of the key's bytes: multiply-xorshift over 8-byte words. The high bits pick the
// table slot and the low byte is the tag, so both must be well mixed.
inline std::uint64_t hash_key(const FlowKey& k) {
    constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
    std::uint64_t words[6] = {};
    std::memcpy(words, &k, sizeof(FlowKey));
    std::uint64_t h = 0x243F6A8885A308D3ull;
    for (std::uint64_t w : words) {
        h ^= w;
        h *= kMul;
        h ^= h >> 29;
    }
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    return h;
}

}  // namespace spanflow
