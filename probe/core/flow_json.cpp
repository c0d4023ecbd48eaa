#include "probe/core/flow_json.hpp"

#include <arpa/inet.h>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

namespace spanflow {

std::string format_address(const FlowKey& k, bool source) {
    const auto& a = source ? k.src_addr : k.dst_addr;
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(k.is_ipv6() ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
    return buf;
}

namespace {
// The JSON of a flow is written on the exporter thread for every record: it builds addresses and
// MACs in stack buffers and appends to `out`, so that it allocates nothing once `out` has room.
struct AddressText {
    char text[INET6_ADDRSTRLEN] = {};
    AddressText(const FlowKey& k, bool source) {
        inet_ntop(k.is_ipv6() ? AF_INET6 : AF_INET, (source ? k.src_addr : k.dst_addr).data(), text,
                  sizeof text);
    }
};
struct MacText {
    char text[18] = {};
    explicit MacText(const MacAddress& m) {
        static constexpr char kHex[] = "0123456789abcdef";
        for (std::size_t i = 0; i < 6; ++i) {
            text[i * 3] = kHex[m[i] >> 4];
            text[i * 3 + 1] = kHex[m[i] & 0x0F];
            text[i * 3 + 2] = i == 5 ? '\0' : ':';
        }
    }
};
}  // namespace

void append_flow_json(std::string& out, const FlowRecord& r, std::string_view extra_members) {
    const char* family = r.key.is_ipv6() ? "IPv6" : "IPv4";
    auto it = std::back_inserter(out);
    const AddressText src(r.key, true);
    const AddressText dst(r.key, false);
    fmt::format_to(it,
                   "{{\"source{0}Address\":\"{1}\",\"destination{0}Address\":\"{2}\","
                   "\"protocolIdentifier\":{3},\"sourceTransportPort\":{4},"
                   "\"destinationTransportPort\":{5},\"ipClassOfService\":{6},"
                   "\"ingressInterface\":{7},\"packetDeltaCount\":{8},\"octetDeltaCount\":{9},"
                   "\"tcpControlBits\":{10},\"flowStartMilliseconds\":{11},"
                   "\"flowEndMilliseconds\":{12}",
                   family, static_cast<const char*>(src.text), static_cast<const char*>(dst.text),
                   r.key.protocol, r.key.src_port, r.key.dst_port, r.key.tos, r.key.ifindex,
                   r.packets, r.bytes, r.tcp_flags, r.first.ms(), r.last.ms());
    if (r.end_reason != FlowEndReason::unknown)
        fmt::format_to(it, ",\"flowEndReason\":{}", static_cast<int>(r.end_reason));
    if (r.has_vlan) fmt::format_to(it, ",\"vlanId\":{}", r.vlan_id);
    if (r.has_src_mac)
        fmt::format_to(it, ",\"sourceMacAddress\":\"{}\"",
                       static_cast<const char*>(MacText(r.src_mac).text));
    if (r.has_dst_mac)
        fmt::format_to(it, ",\"destinationMacAddress\":\"{}\"",
                       static_cast<const char*>(MacText(r.dst_mac).text));
    out += extra_members;
    out += "}\n";
}

namespace {
constexpr const char* kRowFormat =
    "{:<23}  {:>9}  {:<5}  {:<22}  {:<22}  {:>9}  {:>12}  {:<8}  {:>3}\n";

std::string endpoint(const FlowKey& k, bool source) {
    std::string addr = format_address(k, source);
    if (k.is_ipv6()) addr = "[" + addr + "]";
    return fmt::format("{}:{}", addr, source ? k.src_port : k.dst_port);
}

std::string protocol_name(std::uint8_t p) {
    switch (p) {
        case kProtoTcp:
            return "TCP";
        case kProtoUdp:
            return "UDP";
        case kProtoIcmp:
            return "ICMP";
        case kProtoIcmpv6:
            return "ICMP6";
        case kProtoSctp:
            return "SCTP";
        default:
            return std::to_string(p);
    }
}
}  // namespace

std::string flow_row_header() {
    return fmt::format(kRowFormat, "start (UTC)", "seconds", "proto", "source", "destination",
                       "packets", "bytes", "flags", "tos");
}

void append_flow_row(std::string& out, const FlowRecord& r) {
    std::time_t secs = static_cast<std::time_t>(r.first.sec());
    std::tm utc{};
    gmtime_r(&secs, &utc);
    std::string start =
        fmt::format("{:%Y-%m-%d %H:%M:%S}.{:03}", utc, (r.first.ms() % 1000 + 1000) % 1000);
    std::string flags = "CEUAPRSF";  // nfdump's letters, most significant bit first
    for (int bit = 0; bit < 8; ++bit) {
        if (!(r.tcp_flags & (0x80 >> bit))) flags[static_cast<std::size_t>(bit)] = '.';
    }
    double seconds = static_cast<double>(r.last.ms() - r.first.ms()) / 1000.0;
    fmt::format_to(std::back_inserter(out), kRowFormat, start, fmt::format("{:.3f}", seconds),
                   protocol_name(r.key.protocol), endpoint(r.key, true), endpoint(r.key, false),
                   r.packets, r.bytes, flags, r.key.tos);
}

}  // namespace spanflow
