#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "packet_builder.hpp"
#include "probe/core/flow_json.hpp"
#include "probe/decode/decoder.hpp"

using spanflow::DecodeReason;
using spanflow::LinkType;
using spanflow::PacketMeta;
using spanflow::test::Packet;

namespace {
DecodeReason decode(LinkType link, const Packet& p, PacketMeta& m) {
    return spanflow::decode_packet(link, p.view(), m);
}
// An Ethernet + IPv4 + TCP 1234 -> 80 (SYN) packet of 40 layer-3 bytes.
Packet ipv4_tcp_syn() {
    return Packet{}.ethernet(0x0800).ipv4(6, 40).tcp(1234, 80, 0x02);
}
}  // namespace

TEST_SUITE("decode") {
    TEST_CASE("an Ethernet IPv4 TCP packet yields the seven-tuple, length, flags and MACs") {
        PacketMeta m;
        Packet p = Packet{}.ethernet(0x0800).ipv4(6, 40, 0xB8).tcp(1234, 80, 0x12);
        REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
        CHECK(m.key.ip_version == 4);
        CHECK(spanflow::format_address(m.key, true) == "192.0.2.1");
        CHECK(spanflow::format_address(m.key, false) == "198.51.100.2");
        CHECK(m.key.protocol == 6);
        CHECK(m.key.src_port == 1234);
        CHECK(m.key.dst_port == 80);
        CHECK(m.key.tos == 0xB8);
        CHECK(m.l3_bytes == 40);
        CHECK(m.tcp_flags == 0x12);
        CHECK(m.has_src_mac);
        CHECK(m.src_mac[5] == 0x01);
        CHECK(m.dst_mac[5] == 0x02);
        CHECK_FALSE(m.has_vlan);
    }

    TEST_CASE("bytes come from the IP header, never the captured length") {
        PacketMeta m;
        Packet p = ipv4_tcp_syn();
        p.zeros(6);  // Ethernet padding after a short IP packet
        REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
        CHECK(m.l3_bytes == 40);
        Packet big = Packet{}.ethernet(0x0800).ipv4(17, 1500).udp(53, 53);  // snaplen cut
        REQUIRE(decode(LinkType::ethernet, big, m) == DecodeReason::ok);
        CHECK(m.l3_bytes == 1500);
        CHECK(m.key.dst_port == 53);
    }

    TEST_CASE("VLAN tags of any depth are walked and the outermost id is kept") {
        PacketMeta m;
        SUBCASE("802.1Q") {
            Packet p = Packet{}.ethernet(0x8100).vlan(0x2064, 0x0800).ipv4(17, 28).udp(1, 2);
            REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
            CHECK(m.vlan_id == 100);
        }
        SUBCASE("802.1ad S-tag, then 802.1Q, then the old 0x9100") {
            Packet p = Packet{}.ethernet(0x88A8).vlan(10, 0x8100).vlan(20, 0x9100).vlan(30, 0x86DD);
            p.ipv6(17, 8).udp(1, 2);
            REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
            CHECK(m.vlan_id == 10);
            CHECK(m.key.ip_version == 6);
        }
        CHECK(m.has_vlan);
    }

    TEST_CASE("MPLS label stacks lead to IPv4, IPv6 or a pseudowire Ethernet frame") {
        PacketMeta m;
        SUBCASE("IPv4 under two labels") {
            Packet p = Packet{}.ethernet(0x8847).mpls(16, false).mpls(17, true).ipv4(1, 28);
            p.raw({8, 0}).zeros(6);
            REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
            CHECK(m.key.protocol == 1);
            CHECK(m.key.dst_port == 8 * 256);  // ICMP echo request: type * 256 + code
        }
        SUBCASE("IPv6 under one label") {
            Packet p = Packet{}.ethernet(0x8847).mpls(16, true).ipv6(58, 8).raw({128, 0}).zeros(6);
            REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
            CHECK(m.key.dst_port == 128 * 256);
        }
        SUBCASE("a control word and an Ethernet frame with a VLAN tag") {
            Packet p = Packet{}.ethernet(0x8847).mpls(16, true).u32(0);
            p.ethernet(0x8100).vlan(7, 0x0800).ipv4(17, 28).udp(5, 6);
            REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
            CHECK(m.key.dst_port == 6);
            CHECK(m.vlan_id == 7);
        }
        SUBCASE("pseudowires nested thousands deep are walked in a loop, not on the stack") {
            Packet p = Packet{}.ethernet(0x8847);
            for (int i = 0; i < 5000; ++i) p.mpls(16, true).u32(0).ethernet(0x8847);
            p.mpls(16, true).ipv4(17, 28).udp(5, 6);
            REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
            CHECK(m.key.dst_port == 6);
        }
        SUBCASE("anything else is counted as an unknown payload") {
            Packet p = Packet{}.ethernet(0x8847).mpls(16, true).raw({0x10, 0, 0, 0});
            CHECK(decode(LinkType::ethernet, p, m) == DecodeReason::mpls_payload_unknown);
        }
    }

    TEST_CASE("PPPoE sessions and LLC/SNAP frames carry IP on") {
        PacketMeta m;
        Packet pppoe = Packet{}.ethernet(0x8864).raw({0x11, 0, 0, 1}).u16(30).u16(0x0021);
        pppoe.ipv4(17, 28).udp(7, 8);
        REQUIRE(decode(LinkType::ethernet, pppoe, m) == DecodeReason::ok);
        CHECK(m.key.dst_port == 8);
        Packet snap = Packet{}.ethernet(46).raw({0xAA, 0xAA, 0x03, 0, 0, 0}).u16(0x0800);
        snap.ipv4(17, 28).udp(9, 10);
        REQUIRE(decode(LinkType::ethernet, snap, m) == DecodeReason::ok);
        CHECK(m.key.dst_port == 10);
        Packet stp = Packet{}.ethernet(38).raw({0x42, 0x42, 0x03}).zeros(35);
        CHECK(decode(LinkType::ethernet, stp, m) == DecodeReason::not_ip);
    }

    TEST_CASE("the shims of data-centre mirror ports are walked to the IP header") {
        PacketMeta m;
        // Each shim, its bytes after its EtherType, then an IPv4/UDP packet to port 53.
        auto through = [&](Packet p) {
            p.ipv4(17, 28).udp(4000, 53);
            const DecodeReason r = decode(LinkType::ethernet, p, m);
            return r == DecodeReason::ok && m.key.dst_port == 53 && m.l3_bytes == 28;
        };
        SUBCASE("VN-Tag, E-Tag, Cisco MetaData (SGT) and PBB") {
            CHECK(through(Packet{}.ethernet(0x8926).u32(0x80010002).u16(0x0800)));
            CHECK(through(Packet{}.ethernet(0x893F).u16(0x2001).u16(0x0123).u16(0).u16(0x0800)));
            CHECK(through(Packet{}.ethernet(0x8909).raw({1, 1}).u16(1).u16(0x1234).u16(0x0800)));
            Packet pbb = Packet{}.ethernet(0x88E7).u32(0x00ABCDEF);  // I-Tag: I-SID 0xABCDEF
            pbb.raw({0x02, 0, 0, 0, 0, 0x22, 0x02, 0, 0, 0, 0, 0x11}).u16(0x0800);
            CHECK(through(pbb));
            CHECK(m.src_mac[5] == 0x01);  // the outer frame's MACs, not the customer's
        }
        SUBCASE("in any order and depth with VLAN, QinQ and MPLS") {
            Packet p = Packet{}.ethernet(0x88A8).vlan(10, 0x8926).u32(0).u16(0x893F).zeros(6);
            p.u16(0x8100).vlan(20, 0x8909).raw({1, 1}).u16(1).u16(7).u16(0x8847).mpls(16, true);
            CHECK(through(p));
            CHECK(m.vlan_id == 10);  // the outermost tag
            Packet inner = Packet{}.ethernet(0x8926).u32(0).u16(0x8100).vlan(30, 0x0800);
            CHECK(through(inner));
            CHECK(m.vlan_id == 30);  // the first tag, under the shim
        }
        SUBCASE("NSH with an IPv4, IPv6, Ethernet, NSH or MPLS payload") {
            // Base header: version 0, TTL 63, length in words, MD type, next protocol.
            auto nsh = [](Packet p, unsigned words, unsigned md_type, unsigned next) {
                p.u8(0x0F).u8(0xC0 | words).u8(md_type).u8(next).u32(0x00000AFF);  // SPI 10, SI
                return p.zeros((words - 2) * 4);
            };
            CHECK(through(nsh(Packet{}.ethernet(0x894F), 6, 1, 1)));  // MD type 1: 16 bytes
            CHECK(through(nsh(Packet{}.ethernet(0x894F), 2, 2, 1)));  // MD type 2, no context
            CHECK(through(nsh(Packet{}.ethernet(0x894F), 5, 2, 1)));  // MD type 2, 12 bytes
            CHECK(through(nsh(Packet{}.ethernet(0x894F), 2, 2, 3).ethernet(0x0800)));
            CHECK(through(nsh(nsh(Packet{}.ethernet(0x894F), 2, 2, 4), 6, 1, 1)));
            CHECK(through(nsh(Packet{}.ethernet(0x894F), 2, 2, 5).mpls(99, true)));
            Packet v6 = nsh(Packet{}.ethernet(0x894F), 2, 2, 2).ipv6(17, 8).udp(1, 53);
            REQUIRE(decode(LinkType::ethernet, v6, m) == DecodeReason::ok);
            CHECK(m.key.dst_port == 53);
            Packet other = nsh(Packet{}.ethernet(0x894F), 2, 2, 0x41).ipv4(17, 28).udp(1, 53);
            CHECK(decode(LinkType::ethernet, other, m) == DecodeReason::not_ip);
            Packet bad = nsh(Packet{}.ethernet(0x894F), 2, 2, 1).ipv4(17, 28).udp(1, 53);
            bad.bytes[15] = 0xC1;  // a length of one word: less than the base header
            CHECK(decode(LinkType::ethernet, bad, m) == DecodeReason::shim_header_bad);
            Packet cut = nsh(Packet{}.ethernet(0x894F), 6, 1, 1);
            cut.bytes.resize(cut.bytes.size() - 1);
            CHECK(decode(LinkType::ethernet, cut, m) == DecodeReason::link_header_truncated);
        }
        SUBCASE("MACsec is encrypted; a shim cut short is a truncated link header") {
            Packet macsec = Packet{}.ethernet(0x88E5).raw({0x2C, 0}).u32(1).zeros(40);
            CHECK(decode(LinkType::ethernet, macsec, m) == DecodeReason::encrypted);
            for (unsigned type : {0x8926u, 0x893Fu, 0x8909u, 0x88E7u, 0x894Fu}) {
                CAPTURE(type);
                CHECK(decode(LinkType::ethernet, Packet{}.ethernet(type).zeros(3), m) ==
                      DecodeReason::link_header_truncated);
            }
        }
    }

    TEST_CASE("every link type SEMANTICS.md lists is read") {
        PacketMeta m;
        Packet ip = Packet{}.ipv4(17, 28).udp(1000, 2000);
        auto with_header = [&](std::initializer_list<unsigned> header) {
            Packet p;
            p.raw(header);
            p.bytes.insert(p.bytes.end(), ip.bytes.begin(), ip.bytes.end());
            return p;
        };
        SUBCASE("raw IP, and IPV4/IPV6 that allow one version only") {
            CHECK(decode(LinkType::raw_ip, ip, m) == DecodeReason::ok);
            CHECK(decode(LinkType::raw_ipv4, ip, m) == DecodeReason::ok);
            CHECK(decode(LinkType::raw_ipv6, ip, m) == DecodeReason::ip_version_mismatch);
        }
        SUBCASE("Linux cooked v1 with a 6-byte source address") {
            Packet p = with_header({0, 0, 0, 1, 0, 6, 0xAA, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00});
            REQUIRE(decode(LinkType::linux_sll, p, m) == DecodeReason::ok);
            CHECK(m.has_src_mac);
            CHECK(m.src_mac[0] == 0xAA);
            CHECK_FALSE(m.has_dst_mac);
        }
        SUBCASE("Linux cooked v2") {
            Packet p =
                with_header({0x08, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 0xBB, 1, 2, 3, 4, 5, 0, 0});
            REQUIRE(decode(LinkType::linux_sll2, p, m) == DecodeReason::ok);
            CHECK(m.src_mac[0] == 0xBB);
        }
        SUBCASE("BSD NULL in either byte order, LOOP in network order") {
            CHECK(decode(LinkType::bsd_null, with_header({2, 0, 0, 0}), m) == DecodeReason::ok);
            CHECK(decode(LinkType::bsd_null, with_header({0, 0, 0, 2}), m) == DecodeReason::ok);
            CHECK(decode(LinkType::bsd_loop, with_header({0, 0, 0, 2}), m) == DecodeReason::ok);
            CHECK(decode(LinkType::bsd_null, with_header({7, 0, 0, 0}), m) == DecodeReason::not_ip);
            // AF_INET6 on a family header while the packet says IPv4
            CHECK(decode(LinkType::bsd_null, with_header({30, 0, 0, 0}), m) ==
                  DecodeReason::ip_version_mismatch);
        }
        SUBCASE("PPP with and without address/control, with a compressed protocol") {
            CHECK(decode(LinkType::ppp, with_header({0xFF, 0x03, 0x00, 0x21}), m) ==
                  DecodeReason::ok);
            CHECK(decode(LinkType::ppp, with_header({0x00, 0x21}), m) == DecodeReason::ok);
            CHECK(decode(LinkType::ppp, with_header({0x21}), m) == DecodeReason::ok);
            CHECK(decode(LinkType::ppp, with_header({0xC0, 0x21}), m) == DecodeReason::not_ip);
        }
        SUBCASE("Cisco HDLC") {
            CHECK(decode(LinkType::cisco_hdlc, with_header({0x0F, 0, 0x08, 0}), m) ==
                  DecodeReason::ok);
        }
        SUBCASE("NFLOG with a prefix TLV before the payload TLV") {
            std::uint16_t payload_len = static_cast<std::uint16_t>(ip.bytes.size() + 4);
            Packet p = with_header({2, 0, 0, 0, 8, 0, 10, 0, 'a', 'b', 'c', 0,
                                    static_cast<unsigned>(payload_len & 0xFF),
                                    static_cast<unsigned>(payload_len >> 8), 9, 0});
            REQUIRE(decode(LinkType::nflog, p, m) == DecodeReason::ok);
            CHECK(m.key.dst_port == 2000);
            Packet none = Packet{}.raw({2, 0, 0, 0, 8, 0, 10, 0, 'a', 'b', 'c', 0});
            CHECK(decode(LinkType::nflog, none, m) == DecodeReason::nflog_no_payload);
        }
    }

    TEST_CASE("each rejected packet has its named reason") {
        PacketMeta m;
        CHECK(decode(LinkType::ethernet, Packet{}.raw({1, 2, 3}), m) ==
              DecodeReason::link_header_truncated);
        CHECK(decode(LinkType::ethernet, Packet{}.ethernet(0x8100).u8(0), m) ==
              DecodeReason::link_header_truncated);
        CHECK(decode(LinkType::ethernet, Packet{}.ethernet(0x0806).zeros(28), m) ==
              DecodeReason::not_ip);
        CHECK(decode(LinkType::raw_ip, Packet{}.raw({0x55}).zeros(30), m) ==
              DecodeReason::ip_version_unknown);
        CHECK(decode(LinkType::ethernet, Packet{}.ethernet(0x86DD).ipv4(6, 40).tcp(1, 2, 0), m) ==
              DecodeReason::ip_version_mismatch);
        CHECK(decode(LinkType::ethernet, Packet{}.ethernet(0x0800).raw({0x45, 0, 0, 40}), m) ==
              DecodeReason::ipv4_header_truncated);
        Packet short_ihl = Packet{}.ethernet(0x0800).ipv4(6, 40);
        short_ihl.bytes[14] = 0x44;
        CHECK(decode(LinkType::ethernet, short_ihl, m) == DecodeReason::ipv4_header_length_bad);
        CHECK(decode(LinkType::ethernet, Packet{}.ethernet(0x0800).ipv4(6, 19), m) ==
              DecodeReason::ipv4_total_length_bad);
        CHECK(decode(LinkType::ethernet, Packet{}.ethernet(0x86DD).u32(0x60000000).zeros(20), m) ==
              DecodeReason::ipv6_header_truncated);
    }

    TEST_CASE("IPv4 options move the transport header") {
        PacketMeta m;
        Packet p = Packet{}.ethernet(0x0800).ipv4(17, 36, 0, 0, 2).udp(4444, 5555);
        REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
        CHECK(m.key.src_port == 4444);
        CHECK(m.key.dst_port == 5555);
    }

    TEST_CASE("fragments: the first keeps its ports, the later ones have none") {
        PacketMeta m;
        Packet first = Packet{}.ethernet(0x0800).ipv4(17, 1500, 0, 0x2000).udp(53, 4000, 2000);
        REQUIRE(decode(LinkType::ethernet, first, m) == DecodeReason::ok);
        CHECK(m.key.src_port == 53);
        Packet later = Packet{}.ethernet(0x0800).ipv4(17, 520, 0, 185).udp(53, 4000);
        REQUIRE(decode(LinkType::ethernet, later, m) == DecodeReason::ok);
        CHECK(m.key.src_port == 0);
        CHECK(m.key.dst_port == 0);
        CHECK(m.key.protocol == 17);
        Packet v6_later = Packet{}.ethernet(0x86DD).ipv6(44, 16).raw({17, 0, 0x05, 0x00}).u32(7);
        v6_later.udp(53, 4000);
        REQUIRE(decode(LinkType::ethernet, v6_later, m) == DecodeReason::ok);
        CHECK(m.key.protocol == 17);
        CHECK(m.key.src_port == 0);
    }

    TEST_CASE("IPv6 extension headers are walked to the protocol") {
        PacketMeta m;
        Packet p = Packet{}.ethernet(0x86DD).ipv6(0, 52, 0x2E).ext8(43).ext8(60).raw({6, 0, 0, 0});
        p.u32(9).tcp(443, 50000, 0x18);  // hop-by-hop, routing, destination options, fragment
        REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
        CHECK(m.key.protocol == 6);
        CHECK(m.key.src_port == 443);
        CHECK(m.key.tos == 0x2E);
        CHECK(m.tcp_flags == 0x18);
        CHECK(m.l3_bytes == 92);

        SUBCASE("AH, ESP and no-next-header are protocols themselves") {
            Packet ah = Packet{}.ethernet(0x86DD).ipv6(0, 16).ext8(51).zeros(8);
            REQUIRE(decode(LinkType::ethernet, ah, m) == DecodeReason::ok);
            CHECK(m.key.protocol == 51);
        }
        SUBCASE("a header cut short leaves its own type as the protocol") {
            Packet cut = Packet{}.ethernet(0x86DD).ipv6(0, 40).u8(17);
            REQUIRE(decode(LinkType::ethernet, cut, m) == DecodeReason::ok);
            CHECK(m.key.protocol == 0);
        }
        SUBCASE("the walk stops after eight extension headers") {
            Packet chain = Packet{}.ethernet(0x86DD).ipv6(60, 80);
            for (int i = 0; i < 9; ++i) chain.ext8(60);
            chain.udp(1, 2);
            REQUIRE(decode(LinkType::ethernet, chain, m) == DecodeReason::ok);
            CHECK(m.key.protocol == 60);
        }
    }

    TEST_CASE("a jumbogram is read to its transport header and counted as payload length + 40") {
        PacketMeta m;
        Packet p = Packet{}.ethernet(0x86DD).ipv6(0, 0).raw({6, 0, 0xC2, 4}).u32(70000);
        p.tcp(1, 2, 0x10);
        p.wire_bytes = 70054;
        REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
        CHECK(m.key.src_port == 1);
        CHECK(m.l3_bytes == 40);
        Packet empty = Packet{}.ethernet(0x86DD).ipv6(44, 0).raw({17, 0, 0, 0}).u32(1).udp(1, 2);
        REQUIRE(decode(LinkType::ethernet, empty, m) == DecodeReason::ok);
        CHECK(m.key.protocol == 44);  // no hop-by-hop: a zero payload length means no payload
    }

    TEST_CASE("an IPv4 total length of 0 (offload capture) counts the frame's IP bytes") {
        PacketMeta m;
        Packet p = Packet{}.ethernet(0x0800).ipv4(6, 0).tcp(1, 2, 0x10);
        p.wire_bytes = 14 + 3000;
        REQUIRE(decode(LinkType::ethernet, p, m) == DecodeReason::ok);
        CHECK(m.l3_bytes == 3000);
    }

    TEST_CASE("a snaplen cut keeps ports with 4 bytes and TCP flags with 14") {
        PacketMeta m;
        Packet full = Packet{}.ethernet(0x0800).ipv4(6, 1500).tcp(1, 2, 0x11);
        Packet p14 = full, p4 = full, p2 = full;
        p14.bytes.resize(14 + 20 + 14);
        p4.bytes.resize(14 + 20 + 4);
        p2.bytes.resize(14 + 20 + 2);
        REQUIRE(decode(LinkType::ethernet, p14, m) == DecodeReason::ok);
        CHECK(m.tcp_flags == 0x11);
        REQUIRE(decode(LinkType::ethernet, p4, m) == DecodeReason::ok);
        CHECK(m.key.dst_port == 2);
        CHECK(m.tcp_flags == 0);
        REQUIRE(decode(LinkType::ethernet, p2, m) == DecodeReason::ok);
        CHECK(m.key.src_port == 0);
        CHECK(m.key.dst_port == 0);
        CHECK(m.l3_bytes == 1500);
    }

    TEST_CASE("TCP flags need a well-formed header, except in a first fragment") {
        PacketMeta m;
        Packet bogus_offset = Packet{}.ethernet(0x0800).ipv4(6, 40).tcp(1, 2, 0x02, 2);
        REQUIRE(decode(LinkType::ethernet, bogus_offset, m) == DecodeReason::ok);
        CHECK(m.tcp_flags == 0);
        Packet short_segment = Packet{}.ethernet(0x0800).ipv4(6, 36).tcp(1, 2, 0x02);
        REQUIRE(decode(LinkType::ethernet, short_segment, m) == DecodeReason::ok);
        CHECK(m.tcp_flags == 0);
        CHECK(m.key.src_port == 1);
        Packet tiny_fragment = Packet{}.ethernet(0x0800).ipv4(6, 36, 0, 0x2000).tcp(1, 2, 0x02);
        REQUIRE(decode(LinkType::ethernet, tiny_fragment, m) == DecodeReason::ok);
        CHECK(m.tcp_flags == 0x02);
    }

    TEST_CASE(
        "the packet clock stamps every view and the decoder copies it, counting every packet "
        "once") {
        spanflow::Decoder decoder;
        spanflow::PacketClock clock;
        Packet good = ipv4_tcp_syn();
        Packet arp = Packet{}.ethernet(0x0806).zeros(28);
        spanflow::PacketBatch batch;
        batch.packets[0] = good.view(3'000);
        batch.packets[1] = arp.view(5'000);
        batch.packets[2] = good.view(4'000);  // earlier than the packet before it
        batch.count = 3;
        PacketMeta out[spanflow::kBatchSize];
        clock.stamp(batch);
        REQUIRE(decoder.decode_batch(batch, out) == 2);
        CHECK(out[0].clock.ns == 3'000);
        CHECK(out[1].ts.ns == 4'000);
        CHECK(out[1].clock.ns == 5'000);  // the clock never goes back
        CHECK(decoder.stats().packets == 3);
        CHECK(decoder.stats().decoded == 2);
        CHECK(decoder.stats().rejected[static_cast<std::size_t>(DecodeReason::not_ip)] == 1);
    }
}

TEST_SUITE("decode") {
    // The straight-line path for Ethernet/IPv4/TCP|UDP must give exactly what the general walk
    // gives, byte for byte, on valid frames and on every kind of damage near its checks.
    TEST_CASE("the fast path agrees with the general walk on 200,000 mutated frames") {
        std::mt19937_64 rng(3);
        std::uint64_t fast_taken = 0;
        for (int n = 0; n < 200'000; ++n) {
            std::uint8_t frame[96] = {};
            const std::uint8_t eth[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
            std::memcpy(frame, eth, 14);
            std::uint8_t* ip = frame + 14;
            ip[0] = 0x45;
            ip[1] = static_cast<std::uint8_t>(rng());
            const std::uint16_t total = static_cast<std::uint16_t>(40 + rng() % 60);
            ip[2] = static_cast<std::uint8_t>(total >> 8);
            ip[3] = static_cast<std::uint8_t>(total);
            ip[9] = (rng() & 1) ? 6 : 17;
            for (int i = 12; i < 20; ++i) ip[i] = static_cast<std::uint8_t>(rng());
            std::uint8_t* l4 = ip + 20;
            for (int i = 0; i < 4; ++i) l4[i] = static_cast<std::uint8_t>(rng());
            l4[12] = 0x50;
            l4[13] = static_cast<std::uint8_t>(rng());
            // Damage: a few random bytes anywhere in the headers, and a random capture length.
            for (int k = static_cast<int>(rng() % 4); k > 0; --k)
                frame[rng() % 60] = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : rng() % 64);
            spanflow::PacketView v;
            v.data = frame;
            v.captured_bytes = static_cast<std::uint32_t>(rng() % 4 == 0 ? rng() % 96 : 96);
            v.wire_bytes = 96;
            v.ifindex = 3;
            v.ts = spanflow::Timestamp::from_ns(static_cast<std::int64_t>(rng() >> 8));
            // The fast path writes field by field into a reused PacketMeta: start it with garbage,
            // so that a field it forgot to write shows.
            PacketMeta fast, walk;
            std::memset(static_cast<void*>(&fast), 0xA5, sizeof fast);
            const DecodeReason a = spanflow::decode_packet(LinkType::ethernet, v, fast);
            const DecodeReason b = spanflow::decode_packet_walk(LinkType::ethernet, v, walk);
            REQUIRE(a == b);
            if (a != DecodeReason::ok) continue;
            ++fast_taken;
            REQUIRE(std::memcmp(&fast.key, &walk.key, sizeof(fast.key)) == 0);
            REQUIRE(fast.l3_bytes == walk.l3_bytes);
            REQUIRE(fast.tcp_flags == walk.tcp_flags);
            REQUIRE(fast.has_vlan == walk.has_vlan);
            REQUIRE(fast.vlan_id == walk.vlan_id);
            REQUIRE(fast.has_src_mac == walk.has_src_mac);
            REQUIRE(fast.has_dst_mac == walk.has_dst_mac);
            REQUIRE(fast.src_mac == walk.src_mac);
            REQUIRE(fast.dst_mac == walk.dst_mac);
            REQUIRE(fast.ts == walk.ts);
        }
        CHECK(fast_taken > 50'000);
    }
}
