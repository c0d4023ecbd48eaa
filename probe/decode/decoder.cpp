#include "probe/decode/decoder.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "probe/core/byte_order.hpp"

namespace spanflow {
namespace {

// The captured bytes of one packet; every read goes through has().
struct Bytes {
    const std::uint8_t* p;
    std::size_t size;
    [[nodiscard]] bool has(std::size_t off, std::size_t n) const {
        return off <= size && n <= size - off;
    }
    [[nodiscard]] std::uint8_t u8(std::size_t off) const { return p[off]; }
    [[nodiscard]] std::uint16_t be16(std::size_t off) const { return load_be16(p + off); }
    [[nodiscard]] std::uint32_t be32(std::size_t off) const { return load_be32(p + off); }
};

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86DD;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88A8;
constexpr std::uint16_t kEtherVlanOld1 = 0x9100;  // pre-802.1ad QinQ tag types still seen
constexpr std::uint16_t kEtherVlanOld2 = 0x9200;
constexpr std::uint16_t kEtherMplsUc = 0x8847;
constexpr std::uint16_t kEtherMplsMc = 0x8848;
constexpr std::uint16_t kEtherPppoeSession = 0x8864;
// The shims of data-centre mirror ports, and MACsec.
constexpr std::uint16_t kEtherVnTag = 0x8926;          // Cisco VN-Tag: 4 bytes, then an EtherType
constexpr std::uint16_t kEtherETag = 0x893F;           // IEEE 802.1BR E-Tag: 6 bytes, EtherType
constexpr std::uint16_t kEtherCiscoMetadata = 0x8909;  // Cisco MetaData (TrustSec SGT): 6 bytes
constexpr std::uint16_t kEtherNsh = 0x894F;            // NSH (RFC 8300): its length, then next
constexpr std::uint16_t kEtherPbb = 0x88E7;            // 802.1ah I-Tag: 4 bytes, customer MACs
constexpr std::uint16_t kEtherMacsec = 0x88E5;         // 802.1AE: encrypted
constexpr std::size_t kVnTag = 4;
constexpr std::size_t kETag = 6;
constexpr std::size_t kCiscoMetadata = 6;
constexpr std::size_t kPbbITag = 4 + 12;  // I-Tag TCI and I-SID, then C-DA and C-SA
constexpr std::size_t kNshBase = 8;       // base header and service path header
// NSH's Next Protocol values (RFC 8300, section 11.2.5).
constexpr std::uint8_t kNshIpv4 = 1;
constexpr std::uint8_t kNshIpv6 = 2;
constexpr std::uint8_t kNshEthernet = 3;
constexpr std::uint8_t kNshNsh = 4;
constexpr std::uint8_t kNshMpls = 5;
constexpr std::uint16_t kEtherMaxLength = 1500;  // at or below: an 802.3 length, not a type

constexpr std::uint16_t kPppIpv4 = 0x0021;
constexpr std::uint16_t kPppIpv6 = 0x0057;
constexpr std::uint16_t kPppMplsUc = 0x0281;
constexpr std::uint16_t kPppMplsMc = 0x0283;

constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kVlanTag = 4;
constexpr std::size_t kMplsLabel = 4;
constexpr std::size_t kPppoeHeader = 8;  // 6 bytes PPPoE + 2 bytes PPP protocol
constexpr std::size_t kSnapHeader = 8;   // DSAP SSAP CTRL OUI[3] TYPE[2]
constexpr std::size_t kSllHeader = 16;
constexpr std::size_t kSll2Header = 20;
constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kTcpFlagsOffset = 13;
constexpr std::size_t kTcpMinHeader = 20;
constexpr std::size_t kUnbounded = ~std::size_t{0};
// Extension headers walked before the protocol is taken as found. RFC 8200 4.1 allows a chain of
// six (destination options twice); a longer one is abnormal, and walking it is not the probe's job.
constexpr int kMaxIpv6ExtensionHeaders = 8;

// BSD address families for IPv6 differ per OS; a NULL/LOOP header may carry any of them.
constexpr std::uint32_t kAfInet = 2;
constexpr bool is_af_inet6(std::uint32_t af) {
    return af == 10 || af == 24 || af == 28 || af == 30;
}

// Where the walk below the IP header ended, and the IP version the link layer announced there
// (0 where it names none, as raw IP and MPLS do: then the version nibble decides).
struct L3Start {
    DecodeReason reason{DecodeReason::ok};
    std::size_t offset{0};
    unsigned version{0};
};

// What the header at the walk's position is named by.
enum class Next : std::uint8_t {
    ethertype,     // an EtherType (Ethernet, VLAN tags, SNAP, SLL, Cisco HDLC)
    mpls,          // an MPLS label stack
    ppp_protocol,  // a PPP protocol number (PPP, PPPoE)
};

// Follows the headers between the link layer and the IP header, from `pos`, where a header named
// `value` of kind `kind` starts: VLAN tags of any depth, LLC/SNAP, MPLS label stacks, PPPoE,
// pseudowire Ethernet frames under MPLS (RFC 4448), and the shims of data-centre mirror ports
// (VN-Tag, E-Tag, Cisco MetaData, NSH with an IP, Ethernet, NSH or MPLS payload, PBB), in any
// nesting. It is a loop, not recursion: every step consumes at least 4 bytes, so the captured
// length bounds the work, and a packet of nested tunnels cannot exhaust the stack.
L3Start walk_to_ip(const Bytes& b, std::size_t pos, Next kind, std::uint16_t value, PacketMeta& m) {
    for (;;) {
        switch (kind) {
            case Next::ppp_protocol:
                switch (value) {
                    case kPppIpv4:
                        return {DecodeReason::ok, pos, 4};
                    case kPppIpv6:
                        return {DecodeReason::ok, pos, 6};
                    case kPppMplsUc:
                    case kPppMplsMc:
                        kind = Next::mpls;
                        continue;
                    default:
                        return {DecodeReason::not_ip, pos};
                }
            case Next::mpls: {
                for (;;) {  // labels up to the bottom-of-stack bit
                    if (!b.has(pos, kMplsLabel)) return {DecodeReason::link_header_truncated, pos};
                    bool bottom = (b.u8(pos + 2) & 0x01) != 0;
                    pos += kMplsLabel;
                    if (bottom) break;
                }
                if (!b.has(pos, 1)) return {DecodeReason::link_header_truncated, pos};
                // A label does not name its payload: IP says so by its version nibble, and a
                // pseudowire starts with a zero control word before its Ethernet frame.
                switch (b.u8(pos) >> 4) {
                    case 4:
                    case 6:
                        return {DecodeReason::ok, pos, 0};
                    case 0: {
                        std::size_t eth = pos + 4;
                        if (!b.has(eth, kEthernetHeader))
                            return {DecodeReason::link_header_truncated, eth};
                        value = b.be16(eth + 12);
                        pos = eth + kEthernetHeader;
                        kind = Next::ethertype;
                        continue;
                    }
                    default:
                        return {DecodeReason::mpls_payload_unknown, pos};
                }
            }
            case Next::ethertype:
                switch (value) {
                    case kEtherIpv4:
                        return {DecodeReason::ok, pos, 4};
                    case kEtherIpv6:
                        return {DecodeReason::ok, pos, 6};
                    case kEtherVlan:
                    case kEtherQinQ:
                    case kEtherVlanOld1:
                    case kEtherVlanOld2:
                        if (!b.has(pos, kVlanTag))
                            return {DecodeReason::link_header_truncated, pos};
                        if (!m.has_vlan) {
                            m.has_vlan = true;
                            m.vlan_id = b.be16(pos) & 0x0FFF;
                        }
                        value = b.be16(pos + 2);
                        pos += kVlanTag;
                        continue;
                    case kEtherMplsUc:
                    case kEtherMplsMc:
                        kind = Next::mpls;
                        continue;
                    case kEtherPppoeSession:
                        if (!b.has(pos, kPppoeHeader))
                            return {DecodeReason::link_header_truncated, pos};
                        value = b.be16(pos + 6);
                        pos += kPppoeHeader;
                        kind = Next::ppp_protocol;
                        continue;
                    // Shims of a fixed size that end in an EtherType, as VLAN tags do. PBB's
                    // I-Tag is followed by the customer frame's MACs; the flow keeps the outer
                    // ones, as it does under an MPLS pseudowire.
                    case kEtherVnTag:
                    case kEtherETag:
                    case kEtherCiscoMetadata:
                    case kEtherPbb: {
                        const std::size_t size = value == kEtherVnTag  ? kVnTag
                                                 : value == kEtherPbb  ? kPbbITag
                                                 : value == kEtherETag ? kETag
                                                                       : kCiscoMetadata;
                        if (!b.has(pos, size + 2))
                            return {DecodeReason::link_header_truncated, pos};
                        value = b.be16(pos + size);
                        pos += size + 2;
                        continue;
                    }
                    case kEtherNsh: {
                        // Base header: version, flags, TTL, length (6 bits, in 4-byte words, the
                        // whole NSH header), MD type, next protocol; then the service path header
                        // and the context headers the length covers.
                        if (!b.has(pos, kNshBase))
                            return {DecodeReason::link_header_truncated, pos};
                        const std::size_t words = b.u8(pos + 1) & 0x3Fu;
                        const std::uint8_t next = b.u8(pos + 3);
                        if (words * 4 < kNshBase) return {DecodeReason::shim_header_bad, pos};
                        if (!b.has(pos, words * 4))
                            return {DecodeReason::link_header_truncated, pos};
                        pos += words * 4;
                        switch (next) {
                            case kNshIpv4:
                                return {DecodeReason::ok, pos, 4};
                            case kNshIpv6:
                                return {DecodeReason::ok, pos, 6};
                            case kNshEthernet:
                                if (!b.has(pos, kEthernetHeader))
                                    return {DecodeReason::link_header_truncated, pos};
                                value = b.be16(pos + 12);
                                pos += kEthernetHeader;
                                continue;
                            case kNshNsh:
                                continue;  // value is still kEtherNsh
                            case kNshMpls:
                                kind = Next::mpls;
                                continue;
                            default:
                                return {DecodeReason::not_ip, pos};
                        }
                    }
                    case kEtherMacsec:
                        return {DecodeReason::encrypted, pos};
                    default:
                        break;
                }
                if (value > kEtherMaxLength) return {DecodeReason::not_ip, pos};
                // An 802.3 length field: only LLC with a SNAP header can carry an EtherType on.
                if (!b.has(pos, 3)) return {DecodeReason::link_header_truncated, pos};
                if (b.u8(pos) != 0xAA || b.u8(pos + 1) != 0xAA || b.u8(pos + 2) != 0x03)
                    return {DecodeReason::not_ip, pos};
                if (!b.has(pos, kSnapHeader)) return {DecodeReason::link_header_truncated, pos};
                value = b.be16(pos + 6);
                pos += kSnapHeader;
                continue;
        }
    }
}

L3Start link_walk(LinkType link, const Bytes& b, PacketMeta& m) {
    switch (link) {
        case LinkType::ethernet:
            if (!b.has(0, kEthernetHeader)) return {DecodeReason::link_header_truncated, 0};
            std::memcpy(m.dst_mac.data(), b.p, 6);
            std::memcpy(m.src_mac.data(), b.p + 6, 6);
            m.has_dst_mac = m.has_src_mac = true;
            return walk_to_ip(b, kEthernetHeader, Next::ethertype, b.be16(12), m);
        case LinkType::linux_sll:
            if (!b.has(0, kSllHeader)) return {DecodeReason::link_header_truncated, 0};
            if (b.be16(4) == 6) {
                std::memcpy(m.src_mac.data(), b.p + 6, 6);
                m.has_src_mac = true;
            }
            return walk_to_ip(b, kSllHeader, Next::ethertype, b.be16(14), m);
        case LinkType::linux_sll2:
            if (!b.has(0, kSll2Header)) return {DecodeReason::link_header_truncated, 0};
            if (b.u8(11) == 6) {
                std::memcpy(m.src_mac.data(), b.p + 12, 6);
                m.has_src_mac = true;
            }
            return walk_to_ip(b, kSll2Header, Next::ethertype, b.be16(0), m);
        case LinkType::raw_ip:
            return {DecodeReason::ok, 0, 0};
        case LinkType::raw_ipv4:
            return {DecodeReason::ok, 0, 4};
        case LinkType::raw_ipv6:
            return {DecodeReason::ok, 0, 6};
        case LinkType::bsd_null:
        case LinkType::bsd_loop: {
            if (!b.has(0, 4)) return {DecodeReason::link_header_truncated, 0};
            std::uint32_t af = b.be32(0);
            // NULL is in the byte order of the host that captured: a family is a small number,
            // so a value with high bits set was written little-endian.
            if (link == LinkType::bsd_null && af > 0xFFFF) af = load_le32(b.p);
            if (af == kAfInet) return {DecodeReason::ok, 4, 4};
            if (is_af_inet6(af)) return {DecodeReason::ok, 4, 6};
            return {DecodeReason::not_ip, 0};
        }
        case LinkType::ppp: {
            std::size_t pos = 0;
            if (b.has(0, 2) && b.u8(0) == 0xFF && b.u8(1) == 0x03) pos = 2;  // address, control
            if (!b.has(pos, 1)) return {DecodeReason::link_header_truncated, pos};
            // RFC 1661 protocol-field compression: an odd first byte is a one-byte protocol.
            if (b.u8(pos) & 0x01) return walk_to_ip(b, pos + 1, Next::ppp_protocol, b.u8(pos), m);
            if (!b.has(pos, 2)) return {DecodeReason::link_header_truncated, pos};
            return walk_to_ip(b, pos + 2, Next::ppp_protocol, b.be16(pos), m);
        }
        case LinkType::cisco_hdlc:
            if (!b.has(0, 4)) return {DecodeReason::link_header_truncated, 0};
            return walk_to_ip(b, 4, Next::ethertype, b.be16(2), m);
        case LinkType::nflog: {
            // NFLOG: family, version, resource id, then TLVs whose length (header included) and
            // type are in the capturing host's byte order (little-endian here); padded to 4.
            constexpr std::uint16_t kNflogPayload = 9;
            if (!b.has(0, 4)) return {DecodeReason::link_header_truncated, 0};
            std::size_t pos = 4;
            while (b.has(pos, 4)) {
                std::uint16_t len = load_le16(b.p + pos);
                std::uint16_t type = load_le16(b.p + pos + 2);
                if (len < 4 || !b.has(pos, len)) {
                    if (type == kNflogPayload && len >= 4) return {DecodeReason::ok, pos + 4, 0};
                    return {DecodeReason::nflog_no_payload, pos};
                }
                if (type == kNflogPayload) return {DecodeReason::ok, pos + 4, 0};
                pos += (static_cast<std::size_t>(len) + 3) & ~std::size_t{3};
            }
            return {DecodeReason::nflog_no_payload, pos};
        }
    }
    return {DecodeReason::not_ip, 0};
}

// Ports, ICMP type/code and TCP flags from the transport header at `l4`. `b` ends where the IP
// packet or the capture does, whichever is first; `l4_declared` is how many bytes the IP header
// says follow `l4`. A snaplen may cut the transport header: ports still count when their bytes
// were captured. TCP flags are read only from a well-formed header: a data offset of at least 5
// words that fits in the IP payload, except in a first fragment, whose header may go on in the
// next fragment (RFC 1858's tiny fragments). Pass kUnbounded as `l4_declared` for those.
void read_transport(const Bytes& b, std::size_t l4, std::size_t l4_declared, PacketMeta& m) {
    switch (m.key.protocol) {
        case kProtoTcp:
            if (b.has(l4, kTcpFlagsOffset + 1)) {
                std::size_t header_len = std::size_t{b.u8(l4 + 12)} / 16 * 4;
                if (header_len >= kTcpMinHeader && header_len <= l4_declared)
                    m.tcp_flags = b.u8(l4 + kTcpFlagsOffset);
            }
            [[fallthrough]];
        case kProtoUdp:
        case kProtoSctp:
            if (b.has(l4, 4)) {
                m.key.src_port = b.be16(l4);
                m.key.dst_port = b.be16(l4 + 2);
            }
            break;
        case kProtoIcmp:
        case kProtoIcmpv6:
            if (b.has(l4, 2)) m.key.dst_port = static_cast<std::uint16_t>(b.be16(l4));
            break;
        default:
            break;
    }
}

DecodeReason decode_ipv4(const Bytes& all, std::size_t ip, std::uint32_t wire_bytes,
                         PacketMeta& m) {
    if (!all.has(ip, kIpv4MinHeader)) return DecodeReason::ipv4_header_truncated;
    std::size_t header_len = std::size_t{all.u8(ip) & 0x0Fu} * 4;
    if (header_len < kIpv4MinHeader) return DecodeReason::ipv4_header_length_bad;
    std::uint32_t total = all.be16(ip + 2);
    // A total length of 0 comes from captures taken before TCP segmentation offload, which fills
    // the length in later: the packet is then as long as the frame carried.
    if (total == 0 && wire_bytes > ip) total = wire_bytes - static_cast<std::uint32_t>(ip);
    if (total < header_len) return DecodeReason::ipv4_total_length_bad;

    m.key.ip_version = 4;
    m.key.tos = all.u8(ip + 1);
    m.key.protocol = all.u8(ip + 9);
    std::memcpy(m.key.src_addr.data(), all.p + ip + 12, 4);
    std::memcpy(m.key.dst_addr.data(), all.p + ip + 16, 4);
    m.l3_bytes = total;

    std::uint16_t fragment = all.be16(ip + 6);
    bool later_fragment = (fragment & 0x1FFF) != 0;
    bool more_fragments = (fragment & 0x2000) != 0;
    if (later_fragment) return DecodeReason::ok;
    // The transport header lies within the IP total length, and within what was captured.
    Bytes ip_bytes{all.p + ip, std::min<std::size_t>(all.size - ip, total)};
    read_transport(ip_bytes, header_len, more_fragments ? kUnbounded : total - header_len, m);
    return DecodeReason::ok;
}

DecodeReason decode_ipv6(const Bytes& all, std::size_t ip, PacketMeta& m) {
    if (!all.has(ip, kIpv6Header)) return DecodeReason::ipv6_header_truncated;
    std::uint16_t payload = all.be16(ip + 4);
    m.key.ip_version = 6;
    m.key.tos = static_cast<std::uint8_t>((all.be16(ip) >> 4) & 0xFF);
    std::memcpy(m.key.src_addr.data(), all.p + ip + 8, 16);
    std::memcpy(m.key.dst_addr.data(), all.p + ip + 24, 16);
    m.l3_bytes = std::uint32_t{payload} + kIpv6Header;

    std::uint8_t next = all.u8(ip + 6);
    // A payload length of 0 with a hop-by-hop header is a jumbogram (RFC 2675; Linux BIG TCP):
    // its headers end where the capture does. The count stays payload length + 40, as
    // SEMANTICS.md defines it. Without hop-by-hop, a zero payload length means no payload.
    bool jumbo = payload == 0 && next == 0;
    std::size_t readable = all.size - ip;
    if (!jumbo) readable = std::min<std::size_t>(readable, m.l3_bytes);
    Bytes b{all.p + ip, readable};
    std::size_t pos = kIpv6Header;
    bool more_fragments = false;
    // Walk hop-by-hop, routing, fragment and destination-options headers. A header cut short
    // leaves its own type as the protocol: that is as far as the packet can be read.
    for (int walked = 0; walked < kMaxIpv6ExtensionHeaders; ++walked) {
        if (next == 0 || next == 43 || next == 60) {
            if (!b.has(pos, 2)) break;
            std::size_t len = (std::size_t{b.u8(pos + 1)} + 1) * 8;
            next = b.u8(pos);
            pos += len;
            continue;
        }
        if (next == 44) {
            if (!b.has(pos, 4)) break;
            bool later_fragment = (b.be16(pos + 2) & 0xFFF8) != 0;
            more_fragments = more_fragments || (b.be16(pos + 2) & 0x0001) != 0;
            next = b.u8(pos);
            pos += 8;
            if (later_fragment) {
                m.key.protocol = next;
                return DecodeReason::ok;
            }
            continue;
        }
        break;
    }
    m.key.protocol = next;
    std::size_t declared = jumbo ? b.size : m.l3_bytes;
    read_transport(b, pos, more_fragments ? kUnbounded : (declared > pos ? declared - pos : 0), m);
    return DecodeReason::ok;
}

// The common case in one straight line: Ethernet II carrying IPv4 without options, not a
// fragment, TCP or UDP whose header lies within the capture and the IP length. It gives exactly
// what the general walk gives (a unit test compares the two on mutated frames); anything else
// returns false and takes the walk.
bool decode_fast(const PacketView& pkt, PacketMeta& m) {
    const std::uint8_t* p = pkt.data;
    constexpr std::size_t kIp = kEthernetHeader;
    constexpr std::size_t kL4 = kIp + kIpv4MinHeader;
    if (pkt.captured_bytes < kL4 + kTcpMinHeader) return false;
    // EtherType 0x0800 and IPv4 with a 20-byte header (0x45): bytes 12-14 in one compare.
    if ((load_le32(p + 12) & 0x00FFFFFFu) != 0x00450008u) return false;
    const std::uint32_t total = load_be16(p + kIp + 2);
    if (total < kIpv4MinHeader + kTcpMinHeader) return false;
    if ((load_be16(p + kIp + 6) & 0x3FFF) != 0) return false;  // MF or an offset: a fragment
    const std::uint8_t protocol = p[kIp + 9];
    if (protocol != kProtoTcp && protocol != kProtoUdp) return false;
    // Each field written once, the key's unused address bytes zeroed, instead of clearing the
    // whole PacketMeta first.
    m.key = FlowKey{};
    std::memcpy(m.key.src_addr.data(), p + kIp + 12, 4);
    std::memcpy(m.key.dst_addr.data(), p + kIp + 16, 4);
    m.key.ifindex = pkt.ifindex;
    m.key.src_port = load_be16(p + kL4);
    m.key.dst_port = load_be16(p + kL4 + 2);
    m.key.protocol = protocol;
    m.key.tos = p[kIp + 1];
    m.key.ip_version = 4;
    m.l3_bytes = total;
    m.tcp_flags = 0;
    if (protocol == kProtoTcp) {
        const std::size_t header_len = std::size_t{p[kL4 + 12]} / 16 * 4;
        if (header_len >= kTcpMinHeader && header_len <= total - kIpv4MinHeader)
            m.tcp_flags = p[kL4 + kTcpFlagsOffset];
    }
    m.has_vlan = false;
    m.has_dst_mac = m.has_src_mac = true;
    m.vlan_id = 0;
    static_assert(offsetof(PacketMeta, src_mac) == offsetof(PacketMeta, dst_mac) + 6);
    std::memcpy(m.dst_mac.data(), p, 12);  // destination and source, as the frame has them
    m.ts = pkt.ts;
    m.clock = pkt.clock;
    return true;
}

}  // namespace

DecodeReason decode_packet(LinkType link, const PacketView& pkt, PacketMeta& m) {
    if (link == LinkType::ethernet && decode_fast(pkt, m)) return DecodeReason::ok;
    return decode_packet_walk(link, pkt, m);
}

DecodeReason decode_packet_walk(LinkType link, const PacketView& pkt, PacketMeta& m) {
    m = PacketMeta{};
    m.ts = pkt.ts;
    m.clock = pkt.clock;
    m.key.ifindex = pkt.ifindex;
    Bytes b{pkt.data, pkt.captured_bytes};
    L3Start l3 = link_walk(link, b, m);
    if (l3.reason != DecodeReason::ok) return l3.reason;
    if (!b.has(l3.offset, 1)) {
        switch (link) {  // nothing after the link header, or nothing at all for raw IP
            case LinkType::raw_ip:
            case LinkType::raw_ipv4:
                return DecodeReason::ipv4_header_truncated;
            case LinkType::raw_ipv6:
                return DecodeReason::ipv6_header_truncated;
            default:
                return DecodeReason::link_header_truncated;
        }
    }
    unsigned version = b.u8(l3.offset) >> 4;
    if (l3.version != 0 && version != l3.version) return DecodeReason::ip_version_mismatch;
    switch (version) {
        case 4:
            return decode_ipv4(b, l3.offset, pkt.wire_bytes, m);
        case 6:
            return decode_ipv6(b, l3.offset, m);
        default:
            return DecodeReason::ip_version_unknown;
    }
}

std::size_t Decoder::decode_batch(const PacketBatch& batch, PacketMeta* out) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < batch.count; ++i) {
        const PacketView& pkt = batch.packets[i];
        DecodeReason r = decode_packet(pkt.link, pkt, out[n]);
        if (r == DecodeReason::ok) {
            ++n;
        } else {
            ++stats_.rejected[static_cast<std::size_t>(r)];
        }
    }
    stats_.packets += batch.count;
    stats_.decoded += n;
    return n;
}

}  // namespace spanflow
