// The link-layer framings decode understands (SEMANTICS.md, "Link types read"). Capture sources
// map their own numbering (libpcap DLT values) onto this enum once, at open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spanflow {

enum class LinkType : std::uint8_t {
    ethernet,    // DLT_EN10MB
    linux_sll,   // DLT_LINUX_SLL
    linux_sll2,  // DLT_LINUX_SLL2
    raw_ip,      // DLT_RAW: the version nibble tells which IP
    raw_ipv4,    // DLT_IPV4: IPv4 only
    raw_ipv6,    // DLT_IPV6: IPv6 only
    bsd_null,    // DLT_NULL: 4-byte address family in the capturing host's byte order
    bsd_loop,    // DLT_LOOP: 4-byte address family in network byte order
    ppp,         // DLT_PPP
    cisco_hdlc,  // DLT_C_HDLC
    nflog,       // DLT_NFLOG
};
inline constexpr std::size_t kLinkTypeCount = 11;

constexpr std::string_view link_type_name(LinkType t) {
    switch (t) {
        case LinkType::ethernet:
            return "EN10MB";
        case LinkType::linux_sll:
            return "LINUX_SLL";
        case LinkType::linux_sll2:
            return "LINUX_SLL2";
        case LinkType::raw_ip:
            return "RAW";
        case LinkType::raw_ipv4:
            return "IPV4";
        case LinkType::raw_ipv6:
            return "IPV6";
        case LinkType::bsd_null:
            return "NULL";
        case LinkType::bsd_loop:
            return "LOOP";
        case LinkType::ppp:
            return "PPP";
        case LinkType::cisco_hdlc:
            return "C_HDLC";
        case LinkType::nflog:
            return "NFLOG";
    }
    return "?";
}

}  // namespace spanflow
