// Seeded synthetic traffic for the pipeline tests: decoded packets (PacketMetas stamped with the
// packet clock, as PacketClock::stamp sets them) over many flows, with gaps long enough
// for idle and active timeouts, TCP FIN/RST/SYN, IPv6 keys, VLANs, MACs, ToS, two ifindexes and
// a few timestamps that go back.
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
        m.key.dst_addr[0] = 192;
        m.key.dst_addr[3] = static_cast<std::uint8_t>(f % 3);
        if (m.key.ip_version == 6) {  // bytes past the first four differ too
            m.key.src_addr[15] = 1;
            m.key.dst_addr[9] = static_cast<std::uint8_t>(f % 5);
        }
        m.key.tos = static_cast<std::uint8_t>(f % 11 == 0 ? 0xB8 : 0);
        m.key.ifindex = f % 13 == 0 ? 7 : 0;
        // Link-layer details a flow takes from its first packet: VLAN, MACs or neither.
        m.has_vlan = f % 3 == 0;
        m.vlan_id = m.has_vlan ? static_cast<std::uint16_t>(f % 4095) : 0;
        m.has_src_mac = m.has_dst_mac = f % 5 != 0;
        if (m.has_src_mac) {
            m.src_mac = {
                2, 0, 0, 0, static_cast<std::uint8_t>(f >> 8), static_cast<std::uint8_t>(f)};
            m.dst_mac = {2, 0, 0, 0, 0, static_cast<std::uint8_t>(rng() % 2)};
        }
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
