// Synthetic traffic for the benchmarks: 64-byte Ethernet/IPv4/TCP frames over a chosen number of
// flows, picked uniformly at random with a fixed seed, so every run measures the same work.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "probe/core/byte_order.hpp"
#include "probe/core/packet_meta.hpp"

namespace spanflow::bench {

inline constexpr std::size_t kFrameBytes = 64;

// Writes the 64-byte frame of flow `f` (unique for every f below 2^32) at p.
inline void write_frame(std::uint8_t* p, std::uint32_t f) {
    std::uint8_t eth[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
    std::copy(eth, eth + 14, p);
    std::uint8_t* ip = p + 14;
    ip[0] = 0x45;
    store_be16(ip + 2, 50);  // 20 IP + 20 TCP + 10 payload in a 64-byte frame (with FCS room)
    ip[8] = 64;
    ip[9] = 6;
    store_be32(ip + 12, 0x0A000000u | (f >> 8));     // 10.x.y.z
    store_be32(ip + 16, 0xC0A80000u | (f & 0xFFu));  // 192.168.0.z
    std::uint8_t* tcp = ip + 20;
    store_be16(tcp, static_cast<std::uint16_t>(1024 + (f & 0x3FFF)));
    store_be16(tcp + 2, 443);
    tcp[12] = 0x50;
    tcp[13] = 0x10;  // ACK
}

// The frames, back to back, for flows 0..flows-1 in random order (`count` frames).
inline std::vector<std::uint8_t> make_frames(std::size_t flows, std::size_t count) {
    std::vector<std::uint8_t> out(count * kFrameBytes);
    std::mt19937_64 rng(42);
    for (std::size_t i = 0; i < count; ++i)
        write_frame(out.data() + i * kFrameBytes, static_cast<std::uint32_t>(rng() % flows));
    return out;
}

// One frame of each flow 0..flows-1, in order.
inline std::vector<std::uint8_t> make_sequential_frames(std::size_t flows) {
    std::vector<std::uint8_t> out(flows * kFrameBytes);
    for (std::size_t f = 0; f < flows; ++f)
        write_frame(out.data() + f * kFrameBytes, static_cast<std::uint32_t>(f));
    return out;
}

}  // namespace spanflow::bench
