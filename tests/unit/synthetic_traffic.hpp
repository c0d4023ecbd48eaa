// Seeded synthetic traffic for the pipeline tests: decoded packets (PacketMetas stamped with the
// packet clock, as Decoder::decode_batch stamps them) over many flows, with gaps long enough
// for idle and active timeouts, TCP FIN/RST/SYN, IPv6 keys and a few timestamps that go back.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "probe/core/packet_meta.hpp"

namespace spanflow::test {

inline std::vector<PacketMeta> synthetic_traffic(std::size_t packets, std::uint32_t flows,
                                                 std::uint64_t seed) {
    std::vector<PacketMeta> out(packets);
    std::mt19937_64 rng(seed);
    PacketClock clock;
    std::int64_t t = 1'700'000'000'000'000'000;
    for (PacketMeta& m : out) {
        // Mostly microseconds apart; now and then a pause of seconds, so flows time out.
        t += (rng() % 1000 == 0) ? static_cast<std::int64_t>(rng() % 20) * 1'000'000'000
                                 : static_cast<std::int64_t>(rng() % 20'000);
        std::int64_t ts = (rng() % 500 == 0) ? t - 3'000'000'000 : t;  // back in time
        auto f = static_cast<std::uint32_t>(rng() % flows);
        m.key.ip_version = (f % 7 == 0) ? 6 : 4;
        m.key.src_addr[0] = 10;
        m.key.src_addr[1] = static_cast<std::uint8_t>(f >> 16);
        m.key.src_addr[2] = static_cast<std::uint8_t>(f >> 8);
        m.key.src_addr[3] = static_cast<std::uint8_t>(f);
        if (m.key.ip_version == 6) m.key.src_addr[15] = 1;
        m.key.dst_addr[0] = 192;
        m.key.dst_addr[3] = static_cast<std::uint8_t>(f % 3);
        m.key.protocol = (f % 2 == 0) ? kProtoTcp : kProtoUdp;
        m.key.src_port = static_cast<std::uint16_t>(1024 + f % 50'000);
        m.key.dst_port = 443;
        m.l3_bytes = 40 + static_cast<std::uint32_t>(rng() % 1400);
        if (m.key.protocol == kProtoTcp) {
            std::uint64_t r = rng() % 100;
            m.tcp_flags = r == 0 ? kTcpFin : r == 1 ? kTcpRst : r < 5 ? kTcpSyn : 0x10;
        }
        m.ts = Timestamp::from_ns(ts);
        clock.observe(m.ts);
        m.clock = clock.now();
    }
    return out;
}

}  // namespace spanflow::test
