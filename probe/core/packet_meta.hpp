// What decode extracts from one packet: everything the flow table needs, in a fixed-size value.
#pragma once

#include <array>
#include <cstdint>

#include "probe/core/flow_key.hpp"
#include "probe/core/timestamp.hpp"

namespace spanflow {

using MacAddress = std::array<std::uint8_t, 6>;

struct PacketMeta {
    FlowKey key{};
    std::uint32_t l3_bytes{0};  // IPv4 total length, or IPv6 payload length + 40
    std::uint8_t tcp_flags{0};
    bool has_vlan{false};
    bool has_src_mac{false};
    bool has_dst_mac{false};
    std::uint16_t vlan_id{0};  // outermost tag
    MacAddress dst_mac{};  // in the order of an Ethernet header: decode copies both at once
    MacAddress src_mac{};
    Timestamp ts{};     // this packet's capture time
    Timestamp clock{};  // the packet clock when it arrived: the newest time seen so far, >= ts
};

// TCP flag bits that change how a flow ends (SEMANTICS.md, reason 3).
inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIcmpv6 = 58;
inline constexpr std::uint8_t kProtoSctp = 132;

}  // namespace spanflow
