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

// A 64-bit hash of the key's bytes, in the manner of wyhash: 64-bit words mixed pairwise by a
// 64x64->128-bit multiply folded to 64 bits. An IPv4 key, the common case, is three words (the
// two addresses; ports, protocol, ToS and version; the ifindex) and two multiplies, about 15
// instructions; an IPv6 key is all 44 bytes as six words and four multiplies. The top 32 bits
// are the flow table's fingerprint and home slot, the low 32 bits pick the shard, so both halves
// must be well mixed: the final multiply-fold mixes every input bit into both.
namespace detail {
__extension__ using Uint128 = unsigned __int128;
// The product's halves xor both inputs back in (wyhash's "condom" mode): a word that cancels its
// constant would otherwise zero the product whatever the other word is, and a flood of spoofed
// keys could then share one hash.
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
    const Uint128 p = static_cast<Uint128>(a) * b;
    return a ^ b ^ static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
}
inline constexpr std::uint64_t kSecret[4] = {0xa0761d6478bd642full, 0xe7037ed1a0b428dbull,
                                             0x8ebc6af09c88c6e3ull, 0x589965cc75374cc3ull};
}  // namespace detail

// IPv6 keys, out of line: their 44-byte load would otherwise be set up on the IPv4 path too.
[[gnu::noinline]] inline std::uint64_t hash_key_v6(const FlowKey& k) {
    using detail::kSecret;
    using detail::mix;
    const auto* p = reinterpret_cast<const unsigned char*>(&k);
    std::uint64_t w[6];
    std::memcpy(w, p, 40);
    std::uint32_t last;
    std::memcpy(&last, p + 40, 4);
    w[5] = last;
    const std::uint64_t a = mix(w[0] ^ kSecret[0], w[1] ^ kSecret[1]);
    const std::uint64_t b = mix(w[2] ^ kSecret[2], w[3] ^ kSecret[3]);
    const std::uint64_t c = mix(w[4] ^ 0x1d8e4e27c47d124full, w[5] ^ kSecret[0]);
    return mix(a ^ b ^ kSecret[1], c ^ kSecret[2]);
}

inline std::uint64_t hash_key(const FlowKey& k) {
    using detail::kSecret;
    using detail::mix;
    if (k.ip_version != 4) [[unlikely]]
        return hash_key_v6(k);
    const auto* p = reinterpret_cast<const unsigned char*>(&k);
    std::uint32_t src, dst, ifindex;
    std::uint64_t rest;  // ports, protocol, ToS, version and the zero byte
    std::memcpy(&src, p, 4);
    std::memcpy(&dst, p + 16, 4);
    std::memcpy(&ifindex, p + 32, 4);
    std::memcpy(&rest, p + 36, 8);
    const std::uint64_t a = mix((src | std::uint64_t{dst} << 32) ^ kSecret[0], rest ^ kSecret[1]);
    return mix(a ^ kSecret[2], ifindex ^ kSecret[3]);
}

}  // namespace spanflow
