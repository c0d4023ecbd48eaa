#include "probe/core/flow_json.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

namespace spanflow {

std::string format_address(const FlowKey& k, bool source) {
    const auto& a = source ? k.src_addr : k.dst_addr;
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(k.is_ipv6() ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
    return buf;
}

namespace {
std::string format_mac(const MacAddress& m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                       m[5]);
}
}  // namespace

void append_flow_json(std::string& out, const FlowRecord& r) {
    const char* family = r.key.is_ipv6() ? "IPv6" : "IPv4";
    auto it = std::back_inserter(out);
    fmt::format_to(it,
                   "{{\"source{0}Address\":\"{1}\",\"destination{0}Address\":\"{2}\","
                   "\"protocolIdentifier\":{3},\"sourceTransportPort\":{4},"
                   "\"destinationTransportPort\":{5},\"ipClassOfService\":{6},"
                   "\"ingressInterface\":{7},\"packetDeltaCount\":{8},\"octetDeltaCount\":{9},"
                   "\"tcpControlBits\":{10},\"flowStartMilliseconds\":{11},"
                   "\"flowEndMilliseconds\":{12}",
                   family, format_address(r.key, true), format_address(r.key, false),
                   r.key.protocol, r.key.src_port, r.key.dst_port, r.key.tos, r.key.ifindex,
                   r.packets, r.bytes, r.tcp_flags, r.first.ms(), r.last.ms());
    if (r.end_reason != FlowEndReason::unknown)
        fmt::format_to(it, ",\"flowEndReason\":{}", static_cast<int>(r.end_reason));
    if (r.has_vlan) fmt::format_to(it, ",\"vlanId\":{}", r.vlan_id);
    if (r.has_src_mac) fmt::format_to(it, ",\"sourceMacAddress\":\"{}\"", format_mac(r.src_mac));
    if (r.has_dst_mac)
        fmt::format_to(it, ",\"destinationMacAddress\":\"{}\"", format_mac(r.dst_mac));
    out += "}\n";
}

}  // namespace spanflow
