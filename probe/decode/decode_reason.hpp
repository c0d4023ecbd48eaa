// Why decode rejected a packet. Every rejected packet is counted under exactly one reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spanflow {

enum class DecodeReason : std::uint8_t {
    ok = 0,
    link_header_truncated,   // frame ends inside its link, VLAN, MPLS, PPPoE or shim header
    not_ip,                  // ARP, LLDP, PPP control, ...: no IP packet inside
    mpls_payload_unknown,    // label stack ends on neither IP nor a pseudowire Ethernet frame
    ip_version_unknown,      // the IP version nibble is neither 4 nor 6
    ip_version_mismatch,     // the link layer said IPv4 and the header says 6, or the reverse
    ipv4_header_truncated,   // fewer than 20 bytes of IPv4 header captured
    ipv4_header_length_bad,  // IHL below 5 words
    ipv4_total_length_bad,   // total length shorter than the header
    ipv6_header_truncated,   // fewer than 40 bytes of IPv6 header captured
    nflog_no_payload,        // NFLOG record without a payload TLV, or with a broken TLV
    encrypted,               // MACsec (802.1AE): the payload cannot be read
    shim_header_bad,         // an L2 shim whose own header is invalid (NSH length below 2 words)
};
inline constexpr std::size_t kDecodeReasonCount = 13;

constexpr std::string_view decode_reason_name(DecodeReason r) {
    switch (r) {
        case DecodeReason::ok:
            return "ok";
        case DecodeReason::link_header_truncated:
            return "link header truncated";
        case DecodeReason::not_ip:
            return "not IP";
        case DecodeReason::mpls_payload_unknown:
            return "MPLS payload unknown";
        case DecodeReason::ip_version_unknown:
            return "IP version unknown";
        case DecodeReason::ip_version_mismatch:
            return "IP version differs from link type";
        case DecodeReason::ipv4_header_truncated:
            return "IPv4 header truncated";
        case DecodeReason::ipv4_header_length_bad:
            return "IPv4 header length below 20";
        case DecodeReason::ipv4_total_length_bad:
            return "IPv4 total length below header length";
        case DecodeReason::ipv6_header_truncated:
            return "IPv6 header truncated";
        case DecodeReason::nflog_no_payload:
            return "NFLOG without payload";
        case DecodeReason::encrypted:
            return "encrypted (MACsec)";
        case DecodeReason::shim_header_bad:
            return "L2 shim header invalid";
    }
    return "?";
}

struct DecodeStats {
    std::uint64_t packets{0};
    std::uint64_t decoded{0};
    std::array<std::uint64_t, kDecodeReasonCount> rejected{};  // indexed by DecodeReason

    [[nodiscard]] std::uint64_t rejected_total() const {
        std::uint64_t n = 0;
        for (auto v : rejected) n += v;
        return n;
    }
};

}  // namespace spanflow
