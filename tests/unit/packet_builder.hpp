// Builds packets byte by byte for the decode and flow tests: each helper appends one header in
// network byte order, so a test reads top to bottom like the packet it makes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "probe/core/packet_view.hpp"

namespace spanflow::test {

struct Packet {
    std::vector<std::uint8_t> bytes;
    std::uint32_t wire_bytes{0};  // 0: same as bytes.size()

    Packet& u8(unsigned v) {
        bytes.push_back(static_cast<std::uint8_t>(v));
        return *this;
    }
    Packet& u16(unsigned v) { return u8(v >> 8).u8(v & 0xFF); }
    Packet& u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xFFFF); }
    Packet& raw(std::initializer_list<unsigned> v) {
        for (unsigned b : v) u8(b);
        return *this;
    }
    Packet& zeros(std::size_t n) {
        bytes.insert(bytes.end(), n, 0);
        return *this;
    }

    Packet& ethernet(unsigned ethertype) {
        raw({0x02, 0, 0, 0, 0, 0x02});  // destination MAC
        raw({0x02, 0, 0, 0, 0, 0x01});  // source MAC
        return u16(ethertype);
    }
    Packet& vlan(unsigned tci, unsigned next_type) { return u16(tci).u16(next_type); }
    Packet& mpls(unsigned label, bool bottom) {
        return u32((label << 12) | (bottom ? 0x100u : 0u) | 64u);
    }
    // A 20-byte IPv4 header (plus `options_words` of options) from 192.0.2.1 to 198.51.100.2.
    Packet& ipv4(unsigned protocol, unsigned total_length, unsigned tos = 0, unsigned fragment = 0,
                 unsigned options_words = 0) {
        u8(0x45 + options_words).u8(tos).u16(total_length).u16(0x1234).u16(fragment);
        u8(64).u8(protocol).u16(0);
        raw({192, 0, 2, 1}).raw({198, 51, 100, 2});
        for (unsigned i = 0; i < options_words; ++i) u32(0x01010101);  // NOPs
        return *this;
    }
    // An IPv6 header from 2001:db8::1 to 2001:db8::2.
    Packet& ipv6(unsigned next_header, unsigned payload_length, unsigned traffic_class = 0) {
        u32((6u << 28) | (traffic_class << 20)).u16(payload_length).u8(next_header).u8(64);
        raw({0x20, 0x01, 0x0d, 0xb8}).zeros(11).u8(1);
        raw({0x20, 0x01, 0x0d, 0xb8}).zeros(11).u8(2);
        return *this;
    }
    // An 8-byte IPv6 extension header (hop-by-hop, routing or destination options).
    Packet& ext8(unsigned next_header) { return u8(next_header).u8(0).zeros(6); }
    Packet& tcp(unsigned sport, unsigned dport, unsigned flags, unsigned data_offset_words = 5) {
        u16(sport).u16(dport).u32(1).u32(0).u8(data_offset_words << 4).u8(flags).u16(1024);
        return u16(0).u16(0);
    }
    Packet& udp(unsigned sport, unsigned dport, unsigned length = 8) {
        return u16(sport).u16(dport).u16(length).u16(0);
    }

    [[nodiscard]] PacketView view(std::int64_t ts_ns = 1'000'000'000) const {
        PacketView v;
        v.data = bytes.data();
        v.captured_bytes = static_cast<std::uint32_t>(bytes.size());
        v.wire_bytes = wire_bytes ? wire_bytes : v.captured_bytes;
        v.ts = Timestamp::from_ns(ts_ns);
        return v;
    }
};

}  // namespace spanflow::test
