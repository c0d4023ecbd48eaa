#include <doctest/doctest.h>

#include "probe/core/flow_json.hpp"

using spanflow::FlowRecord;

namespace {
FlowRecord sample(int version) {
    FlowRecord r;
    r.key.ip_version = static_cast<std::uint8_t>(version);
    if (version == 4) {
        r.key.src_addr = {192, 0, 2, 1};
        r.key.dst_addr = {198, 51, 100, 2};
    } else {
        r.key.src_addr = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        r.key.dst_addr = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2a};
    }
    r.key.protocol = 6;
    r.key.src_port = 40000;
    r.key.dst_port = 443;
    r.key.tos = 0x28;
    r.key.ifindex = 2;
    r.packets = 3;
    r.bytes = 180;
    r.tcp_flags = 0x1B;
    r.first = spanflow::Timestamp::from_ns(1'700'000'000'123'456'789);
    r.last = spanflow::Timestamp::from_ns(1'700'000'001'999'999'999);
    r.end_reason = spanflow::FlowEndReason::end_of_flow;
    return r;
}
}  // namespace

TEST_SUITE("core") {
    TEST_CASE("a flow's JSON line uses IPFIX names and floors times to milliseconds") {
        std::string out;
        FlowRecord r = sample(4);
        r.has_vlan = true;
        r.vlan_id = 100;
        r.has_src_mac = true;
        r.src_mac = {0x02, 0, 0, 0, 0, 0xab};
        spanflow::append_flow_json(out, r);
        CHECK(out ==
              "{\"sourceIPv4Address\":\"192.0.2.1\",\"destinationIPv4Address\":\"198.51.100.2\","
              "\"protocolIdentifier\":6,\"sourceTransportPort\":40000,"
              "\"destinationTransportPort\":443,\"ipClassOfService\":40,\"ingressInterface\":2,"
              "\"packetDeltaCount\":3,\"octetDeltaCount\":180,\"tcpControlBits\":27,"
              "\"flowStartMilliseconds\":1700000000123,\"flowEndMilliseconds\":1700000001999,"
              "\"flowEndReason\":3,\"vlanId\":100,\"sourceMacAddress\":\"02:00:00:00:00:ab\"}\n");
    }

    TEST_CASE("IPv6 addresses are compressed; an unknown end reason is left out") {
        std::string out;
        FlowRecord r = sample(6);
        r.end_reason = spanflow::FlowEndReason::unknown;
        spanflow::append_flow_json(out, r);
        CHECK(
            out.find(
                "\"sourceIPv6Address\":\"2001:db8::1\",\"destinationIPv6Address\":\"fe80::2a\"") !=
            std::string::npos);
        CHECK(out.find("flowEndReason") == std::string::npos);
    }

    TEST_CASE("a table row shows the start in UTC, the duration and the flags as letters") {
        std::string out;
        spanflow::append_flow_row(out, sample(6));
        CHECK(out.rfind("2023-11-14 22:13:20.123      1.876  TCP    [2001:db8::1]:40000", 0) == 0);
        CHECK(out.find("...AP.SF") != std::string::npos);
        CHECK(spanflow::flow_row_header().rfind("start (UTC)", 0) == 0);
    }
}
