// spanflow-collect's NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) decoding, from datagrams written
// byte by byte here: templates, options, withdrawal, variable-length and enterprise fields,
// padding, data held for its template, sequence rules and every malformed case.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "export/collector/collector.hpp"
#include "export/collector/datagram_decoder.hpp"
#include "export/collector/endpoint.hpp"

using namespace spanflow;
using namespace spanflow::collector;
using namespace std::chrono_literals;

namespace {

using Bytes = std::vector<std::uint8_t>;
using Clock = std::chrono::steady_clock;

const Clock::time_point kT0{};

// An IPFIX message with a template (256) and one IPv4 flow record, laid out as spanflow's exporter
// sends it, written from RFC 7011 without the offset constants.
//   export time 0x65000000 = 1'694'498'816 s, sequence 7, observation domain 1
// clang-format off
const Bytes kIpfixIpv4 = {
    // message header
    0x00, 0x0A,              // version 10
    0x00, 0xAC,              // length 172
    0x65, 0x00, 0x00, 0x00,  // export time
    0x00, 0x00, 0x00, 0x07,  // sequence 7
    0x00, 0x00, 0x00, 0x01,  // observation domain 1
    // template set
    0x00, 0x02, 0x00, 0x50,  // set id 2, length 80
    0x01, 0x00, 0x00, 0x12,  // template 256, 18 fields
    0x00, 0x08, 0x00, 0x04,  // sourceIPv4Address
    0x00, 0x0C, 0x00, 0x04,  // destinationIPv4Address
    0x00, 0x04, 0x00, 0x01,  // protocolIdentifier
    0x00, 0x07, 0x00, 0x02,  // sourceTransportPort
    0x00, 0x0B, 0x00, 0x02,  // destinationTransportPort
    0x00, 0x05, 0x00, 0x01,  // ipClassOfService
    0x00, 0x0A, 0x00, 0x04,  // ingressInterface
    0x00, 0x0E, 0x00, 0x04,  // egressInterface
    0x00, 0x02, 0x00, 0x08,  // packetDeltaCount
    0x00, 0x01, 0x00, 0x08,  // octetDeltaCount
    0x00, 0x98, 0x00, 0x08,  // flowStartMilliseconds
    0x00, 0x99, 0x00, 0x08,  // flowEndMilliseconds
    0x00, 0x06, 0x00, 0x02,  // tcpControlBits
    0x00, 0x88, 0x00, 0x01,  // flowEndReason
    0x00, 0x3A, 0x00, 0x02,  // vlanId
    0x00, 0x38, 0x00, 0x06,  // sourceMacAddress
    0x00, 0x50, 0x00, 0x06,  // destinationMacAddress
    0x00, 0x3C, 0x00, 0x01,  // ipVersion
    // data set
    0x01, 0x00, 0x00, 0x4C,  // set id 256, length 76
    0xC0, 0x00, 0x02, 0x01,  // 192.0.2.1
    0xC6, 0x33, 0x64, 0x07,  // 198.51.100.7
    0x06,                    // TCP
    0xC3, 0x50,              // 50000
    0x01, 0xBB,              // 443
    0xB8,                    // tos
    0x00, 0x00, 0x00, 0x03,  // ingress 3
    0x00, 0x00, 0x00, 0x04,  // egress 4
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0A,  // 10 packets
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0xA0,  // 4000 octets
    0x00, 0x00, 0x01, 0x8A, 0x87, 0xFF, 0xFC, 0x18,  // start 1'694'498'815'000 ms
    0x00, 0x00, 0x01, 0x8A, 0x87, 0xFF, 0xFF, 0x38,  // end 1'694'498'815'800 ms
    0x00, 0x1B,              // FIN|SYN|PSH|ACK
    0x03,                    // end of flow
    0x00, 0x64,              // vlan 100
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,  // source MAC
    0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB,  // destination MAC
    0x04,                    // IPv4
};
// clang-format on

// Byte writers for the smaller datagrams below: big-endian integers appended one by one.
void put16(Bytes& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xFFFF);
}
void put64(Bytes& b, std::uint64_t v) {
    put32(b, static_cast<std::uint32_t>(v >> 32));
    put32(b, static_cast<std::uint32_t>(v));
}
Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes b;
    for (const Bytes& p : parts) b.insert(b.end(), p.begin(), p.end());
    return b;
}

using Fields = std::vector<std::pair<std::uint16_t, std::uint16_t>>;  // element id, length

// A set: id, length (header included), body.
Bytes set(std::uint16_t id, const Bytes& body) {
    Bytes b;
    put16(b, id);
    put16(b, static_cast<std::uint32_t>(body.size() + 4));
    b.insert(b.end(), body.begin(), body.end());
    return b;
}
void put_fields(Bytes& b, const Fields& fields) {
    for (const auto& [element, length] : fields) {
        put16(b, element);
        put16(b, length);
    }
}
// A template record (v9 and IPFIX share the layout): id, field count, id/length pairs.
Bytes template_record(std::uint16_t id, const Fields& fields) {
    Bytes b;
    put16(b, id);
    put16(b, static_cast<std::uint32_t>(fields.size()));
    put_fields(b, fields);
    return b;
}

// An IPFIX options template record: id, field count, scope field count, id/length pairs.
Bytes options_template_record(std::uint16_t id, std::uint16_t scope_count, const Fields& fields) {
    Bytes b;
    put16(b, id);
    put16(b, static_cast<std::uint32_t>(fields.size()));
    put16(b, scope_count);
    put_fields(b, fields);
    return b;
}

// Options template 258 (scope observationDomainId, then exportedMessageTotalCount) and a record.
const Bytes kOptionsTemplate = options_template_record(258, 1, {{149, 4}, {41, 8}});
Bytes option_record() {
    Bytes b;
    put32(b, 1);
    put64(b, 9);
    return b;
}

constexpr std::uint32_t kExportSecs = 0x6500'0000;  // 1'694'498'816
constexpr std::int64_t kExportMs = std::int64_t{kExportSecs} * 1000;

Bytes ipfix(std::uint32_t sequence, std::uint32_t domain, std::initializer_list<Bytes> sets) {
    const Bytes body = concat(sets);
    Bytes b;
    put16(b, 10);
    put16(b, static_cast<std::uint32_t>(16 + body.size()));
    put32(b, kExportSecs);
    put32(b, sequence);
    put32(b, domain);
    b.insert(b.end(), body.begin(), body.end());
    return b;
}

constexpr std::uint32_t kSysUptimeMs = 1'000'000;

Bytes v9(std::uint32_t sequence, std::uint32_t source_id, std::initializer_list<Bytes> sets) {
    Bytes b;
    put16(b, 9);
    put16(b, static_cast<std::uint32_t>(sets.size()));  // not checked by the collector
    put32(b, kSysUptimeMs);
    put32(b, kExportSecs);
    put32(b, sequence);
    put32(b, source_id);
    const Bytes body = concat(sets);
    b.insert(b.end(), body.begin(), body.end());
    return b;
}

// A small IPFIX template, 256: source and destination IPv4 address, packets (4 bytes).
const Fields kSmallFields = {{8, 4}, {12, 4}, {2, 4}};
Bytes small_record(std::uint8_t last_octet, std::uint32_t packets) {
    Bytes b = {10, 0, 0, last_octet, 10, 0, 0, 99};
    put32(b, packets);
    return b;
}

Endpoint endpoint(std::uint8_t last_octet, std::uint16_t port = 4739) {
    Endpoint e;
    e.addr = {192, 0, 2, last_octet};
    e.port = port;
    return e;
}

// A collector fed at a clock the test moves.
struct Feed {
    Collector collector;
    std::string out;
    Clock::time_point now{kT0};

    DecodeStatus operator()(const Bytes& d, const Endpoint& from = endpoint(1)) {
        return collector.on_datagram(d, from, out, now);
    }
    [[nodiscard]] std::size_t lines() const {
        return static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n'));
    }
    [[nodiscard]] TemplateCounters counters() const { return collector.stats().templates; }
};

struct Decoded {
    DecodeStatus status;
    DatagramHeader header;
    DecodedFlows flows;
};

Decoded decode(DatagramDecoder& decoder, const Bytes& d, const Endpoint& from = endpoint(1),
               Clock::time_point now = kT0) {
    Decoded r{};
    r.status = decoder.decode(d, from, now, r.header, r.flows);
    return r;
}

Bytes with_be16(Bytes d, std::size_t at, std::uint16_t v) {
    d[at] = static_cast<std::uint8_t>(v >> 8);
    d[at + 1] = static_cast<std::uint8_t>(v);
    return d;
}

}  // namespace

TEST_SUITE("collector v9 and IPFIX") {
    TEST_CASE("an IPFIX template and an IPv4 record decode field by field, and as JSON") {
        DatagramDecoder decoder;
        const Decoded d = decode(decoder, kIpfixIpv4);
        REQUIRE(d.status == DecodeStatus::ok);
        CHECK(d.header.version == 10);
        CHECK(d.header.sequence == 7);
        CHECK(d.header.sequence_increment == 1);
        CHECK(d.header.domain == 1);
        CHECK_FALSE(d.header.increment_unknown);
        REQUIRE(d.flows.size() == 1);
        const FlowRecord& r = d.flows.records[0];
        CHECK(r.key.ip_version == 4);
        CHECK(r.key.src_addr == std::array<std::uint8_t, 16>{192, 0, 2, 1});
        CHECK(r.key.dst_addr == std::array<std::uint8_t, 16>{198, 51, 100, 7});
        CHECK(r.key.protocol == 6);
        CHECK(r.key.src_port == 50000);
        CHECK(r.key.dst_port == 443);
        CHECK(r.key.tos == 0xB8);
        CHECK(r.key.ifindex == 3);
        CHECK(r.packets == 10);
        CHECK(r.bytes == 4000);
        CHECK(r.first.ms() == 1'694'498'815'000);
        CHECK(r.last.ms() == 1'694'498'815'800);
        CHECK(r.tcp_flags == 0x1B);
        CHECK(r.end_reason == FlowEndReason::end_of_flow);
        CHECK(r.has_vlan);
        CHECK(r.vlan_id == 100);
        CHECK(r.has_src_mac);
        CHECK(r.has_dst_mac);
        CHECK(r.dst_mac == MacAddress{0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB});
        CHECK(d.flows.extras(0).empty());  // egressInterface is known and left out

        Feed feed;
        REQUIRE(feed(kIpfixIpv4) == DecodeStatus::ok);
        CHECK(feed.out ==
              "{\"sourceIPv4Address\":\"192.0.2.1\",\"destinationIPv4Address\":\"198.51.100.7\","
              "\"protocolIdentifier\":6,\"sourceTransportPort\":50000,"
              "\"destinationTransportPort\":443,\"ipClassOfService\":184,"
              "\"ingressInterface\":3,\"packetDeltaCount\":10,\"octetDeltaCount\":4000,"
              "\"tcpControlBits\":27,\"flowStartMilliseconds\":1694498815000,"
              "\"flowEndMilliseconds\":1694498815800,\"flowEndReason\":3,\"vlanId\":100,"
              "\"sourceMacAddress\":\"00:11:22:33:44:55\","
              "\"destinationMacAddress\":\"66:77:88:99:aa:bb\"}\n");
    }

    TEST_CASE("an IPFIX IPv6 record with no VLAN and no MACs") {
        const Fields fields = {{27, 16}, {28, 16}, {4, 1},   {7, 2},  {11, 2}, {2, 8},
                               {1, 8},   {152, 8}, {153, 8}, {58, 2}, {56, 6}, {80, 6}};
        Bytes record = {0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x20,
                        0x01, 0x0D, 0xB8, 0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 17};
        put16(record, 5353);
        put16(record, 5353);
        put64(record, 2);
        put64(record, 300);
        put64(record, 1'000);
        put64(record, 2'500);
        put16(record, 0);                       // vlan 0: untagged
        record.insert(record.end(), 12, 0x00);  // both MACs all zero: absent
        Feed feed;
        REQUIRE(feed(ipfix(0, 1, {set(2, template_record(257, fields)), set(257, record)})) ==
                DecodeStatus::ok);
        CHECK(feed.out ==
              "{\"sourceIPv6Address\":\"2001:db8::1\",\"destinationIPv6Address\":\"2001:db8::2\","
              "\"protocolIdentifier\":17,\"sourceTransportPort\":5353,"
              "\"destinationTransportPort\":5353,\"ipClassOfService\":0,"
              "\"ingressInterface\":0,\"packetDeltaCount\":2,\"octetDeltaCount\":300,"
              "\"tcpControlBits\":0,\"flowStartMilliseconds\":1000,"
              "\"flowEndMilliseconds\":2500}\n");
    }

    TEST_CASE("a v9 template and record: sysUptime times become absolute, ICMP keys dst_port") {
        // spanflow's v9 template: 22/21 for times, 1-byte flags, icmpTypeCodeIPv4 last.
        const Fields fields = {{8, 4},  {12, 4}, {4, 1},  {7, 2},  {11, 2}, {5, 1}, {10, 4},
                               {14, 4}, {2, 8},  {1, 8},  {22, 4}, {21, 4}, {6, 1}, {136, 1},
                               {58, 2}, {56, 6}, {80, 6}, {60, 1}, {32, 2}};
        Bytes record = {192, 0, 2, 1, 192, 0, 2, 2, 1};  // ICMP
        put16(record, 0);                                // no ports
        put16(record, 0);
        record.push_back(0);
        put32(record, 7);
        put32(record, 0);
        put64(record, 3);
        put64(record, 252);
        put32(record, 999'000);  // 1 s before the header's sysUptime
        put32(record, 999'800);
        record.push_back(0);  // no TCP flags
        record.push_back(0);  // flowEndReason 0: unknown, left out of JSON
        put16(record, 0);
        record.insert(record.end(), 12, 0x00);
        record.push_back(4);
        put16(record, 8 * 256);  // echo request
        // 4 + 65 bytes, padded to 72
        Bytes data = set(256, record);
        REQUIRE(data.size() == 69);
        data.insert(data.end(), {0, 0, 0});
        data[3] = 72;

        DatagramDecoder decoder;
        const Decoded d = decode(decoder, v9(41, 5, {set(0, template_record(256, fields)), data}));
        REQUIRE(d.status == DecodeStatus::ok);
        CHECK(d.header.version == 9);
        CHECK(d.header.sequence == 41);
        CHECK(d.header.sequence_increment == 1);
        CHECK(d.header.domain == 5);
        REQUIRE(d.flows.size() == 1);
        const FlowRecord& r = d.flows.records[0];
        // boot = 1'694'498'816'000 - 1'000'000 ms
        CHECK(r.first.ms() == kExportMs - kSysUptimeMs + 999'000);
        CHECK(r.last.ms() == kExportMs - kSysUptimeMs + 999'800);
        CHECK(r.key.dst_port == 2048);
        CHECK(r.key.ifindex == 7);
        CHECK(r.end_reason == FlowEndReason::unknown);
        CHECK_FALSE(r.has_vlan);
        CHECK_FALSE(r.has_src_mac);
        CHECK(d.flows.extras(0).empty());
    }

    TEST_CASE("options templates and their records are counted, never output") {
        SUBCASE("IPFIX options template 258 with scope observationDomainId") {
            const Bytes tmpl = options_template_record(
                258, 1, {{149, 4}, {304, 2}, {305, 4}, {306, 4}, {160, 8}, {42, 8}, {41, 8}});
            Bytes record;
            put32(record, 1);
            put16(record, 1);
            put32(record, 1);
            put32(record, 0);
            put64(record, 123);
            put64(record, 5);
            put64(record, 2);
            Feed feed;
            CHECK(feed(ipfix(0, 1, {set(3, tmpl), set(258, record)})) == DecodeStatus::ok);
            CHECK(feed.out.empty());
            CHECK(feed.counters().option_records == 1);
            CHECK(feed.collector.stats().records == 0);
        }
        SUBCASE("v9 options template 258 with scope System, padded to 4 bytes") {
            Bytes tmpl;
            put16(tmpl, 258);
            put16(tmpl, 4);  // scope length: one field
            put16(tmpl, 8);  // option length: two fields
            for (const auto& [id, len] : Fields{{1, 4}, {34, 4}, {35, 1}}) {
                put16(tmpl, id);
                put16(tmpl, len);
            }
            tmpl.insert(tmpl.end(), {0, 0});  // 4 + 18 + 2 padding
            Bytes record;
            put32(record, 0);
            put32(record, 1);
            record.push_back(1);
            record.insert(record.end(), {0, 0, 0});  // 4 + 9 + 3 padding
            Feed feed;
            CHECK(feed(v9(0, 0, {set(1, tmpl), set(258, record)})) == DecodeStatus::ok);
            CHECK(feed.out.empty());
            CHECK(feed.counters().option_records == 1);
        }
    }

    TEST_CASE("IPFIX withdrawal: data after it waits for a template like unknown data") {
        Feed feed;
        const Bytes define = set(2, template_record(256, kSmallFields));
        REQUIRE(feed(ipfix(0, 1, {define, set(256, small_record(1, 5))})) == DecodeStatus::ok);
        CHECK(feed.lines() == 1);

        SUBCASE("one template by its id") {
            CHECK(feed(ipfix(1, 1, {set(2, template_record(256, {}))})) == DecodeStatus::ok);
        }
        SUBCASE("all templates by id 2, leaving options templates") {
            REQUIRE(feed(ipfix(1, 1, {set(3, kOptionsTemplate)})) == DecodeStatus::ok);
            CHECK(feed(ipfix(1, 1, {set(2, template_record(2, {}))})) == DecodeStatus::ok);
            CHECK(feed(ipfix(1, 1, {set(258, option_record())})) == DecodeStatus::ok);
            CHECK(feed.counters().option_records == 1);
            CHECK(feed(ipfix(1, 1, {set(3, template_record(3, {}))})) == DecodeStatus::ok);
            CHECK(feed.collector.decoder().templates().size() == 0);
        }
        CHECK(feed(ipfix(1, 1, {set(256, small_record(2, 5))})) == DecodeStatus::ok);
        CHECK(feed.lines() == 1);
        CHECK(feed.counters().held_sets == 1);
    }

    TEST_CASE("a redefined template replaces the old one") {
        Feed feed;
        REQUIRE(feed(ipfix(0, 1, {set(2, template_record(256, kSmallFields))})) ==
                DecodeStatus::ok);
        Bytes record;
        put32(record, 77);
        REQUIRE(feed(ipfix(0, 1, {set(2, template_record(256, {{2, 4}})), set(256, record)})) ==
                DecodeStatus::ok);
        CHECK(feed.out.find("\"packetDeltaCount\":77,") != std::string::npos);
        CHECK(feed.out.find("\"sourceIPv4Address\":\"0.0.0.0\"") != std::string::npos);
    }

    TEST_CASE("variable-length fields in both length forms, as hex members") {
        // interfaceName (82), variable; then packets, to check the offsets after it.
        const Fields fields = {{82, 65535}, {2, 4}};
        Bytes records = {3, 'e', 't', 'h'};
        put32(records, 5);
        records.push_back(255);
        put16(records, 300);
        records.insert(records.end(), 300, 0xAB);
        put32(records, 6);
        DatagramDecoder decoder;
        const Decoded d =
            decode(decoder, ipfix(0, 1, {set(2, template_record(256, fields)), set(256, records)}));
        REQUIRE(d.status == DecodeStatus::ok);
        REQUIRE(d.flows.size() == 2);
        CHECK(d.flows.records[0].packets == 5);
        CHECK(d.flows.extras(0) == ",\"ie82\":\"657468\"");
        CHECK(d.flows.records[1].packets == 6);
        std::string hex;
        for (int i = 0; i < 300; ++i) hex += "ab";
        CHECK(d.flows.extras(1) == ",\"ie82\":\"" + hex + "\"");
    }

    TEST_CASE("an enterprise element is skipped by its length") {
        Bytes tmpl;
        put16(tmpl, 256);
        put16(tmpl, 4);
        for (std::uint16_t v : {8, 4}) put16(tmpl, v);
        for (std::uint16_t v : {0x8000 | 2, 4}) put16(tmpl, v);       // enterprise element 2...
        put32(tmpl, 29305);                                           // ...of enterprise 29305
        for (std::uint16_t v : {0x8000 | 82, 65535}) put16(tmpl, v);  // variable, too
        put32(tmpl, 29305);
        for (std::uint16_t v : {2, 4}) put16(tmpl, v);
        Bytes record = {10, 0, 0, 1};
        put32(record, 999'999);  // not a packet count: must not land in packets
        record.insert(record.end(), {2, 0xFF, 0xFF});
        put32(record, 12);
        DatagramDecoder decoder;
        const Decoded d = decode(decoder, ipfix(0, 1, {set(2, tmpl), set(256, record)}));
        REQUIRE(d.status == DecodeStatus::ok);
        REQUIRE(d.flows.size() == 1);
        CHECK(d.flows.records[0].packets == 12);
        CHECK(d.flows.extras(0).empty());
    }

    TEST_CASE("bytes at the end of a data set shorter than a record are padding") {
        Bytes records = concat({small_record(1, 1), small_record(2, 2)});
        records.insert(records.end(), {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // 11 < 12
        DatagramDecoder decoder;
        const Decoded d = decode(
            decoder, ipfix(0, 1, {set(2, template_record(256, kSmallFields)), set(256, records)}));
        CHECK(d.status == DecodeStatus::ok);
        CHECK(d.flows.size() == 2);
        CHECK(d.header.sequence_increment == 2);

        SUBCASE("and zeros after the last template of a template set too") {
            Bytes tmpl = template_record(257, kSmallFields);
            tmpl.insert(tmpl.end(), 6, 0);
            CHECK(decode(decoder, ipfix(1, 1, {set(2, tmpl)})).status == DecodeStatus::ok);
        }
    }

    TEST_CASE("unknown IANA elements are kept as numbered members") {
        // ingressVRFID (234, 4 bytes), a 16-byte element (ipv6 next hop 62), paddingOctets-like 3.
        const Fields fields = {{8, 4}, {234, 4}, {62, 16}, {210, 3}};
        Bytes record = {10, 0, 0, 1};
        put32(record, 7);
        record.insert(record.end(),
                      {0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFE});
        record.insert(record.end(), {0, 1, 2});
        Feed feed;
        REQUIRE(feed(ipfix(0, 1, {set(2, template_record(256, fields)), set(256, record)})) ==
                DecodeStatus::ok);
        CHECK(feed.out.find(",\"flowEndMilliseconds\":0,\"ie234\":7,"
                            "\"ie62\":\"20010db80000000000000000000000fe\",\"ie210\":258}\n") !=
              std::string::npos);
    }

    TEST_CASE("IPFIX data before its template is held, then released or timed out") {
        const Bytes early = ipfix(0, 1, {set(256, small_record(1, 3))});
        const Bytes tmpl = ipfix(1, 1, {set(2, template_record(256, kSmallFields))});
        Feed feed;
        REQUIRE(feed(early) == DecodeStatus::ok);
        CHECK(feed.out.empty());
        CHECK(feed.counters().held_sets == 1);
        CHECK(feed.collector.decoder().held().size() == 1);

        SUBCASE("the template comes: the held set is decoded and written") {
            feed.now = kT0 + 29s;
            REQUIRE(feed(tmpl) == DecodeStatus::ok);
            CHECK(feed.lines() == 1);
            CHECK(feed.out.find("\"packetDeltaCount\":3,") != std::string::npos);
            CHECK(feed.counters().released_sets == 1);
            CHECK(feed.collector.decoder().held().size() == 0);
            CHECK(feed.collector.stats().records == 1);
        }
        SUBCASE("30 s pass first: the held set is dropped and counted") {
            feed.collector.expire(kT0 + 29s);
            CHECK(feed.collector.decoder().held().size() == 1);
            feed.collector.expire(kT0 + 30s);
            CHECK(feed.collector.decoder().held().size() == 0);
            CHECK(feed.counters().expired_sets == 1);
            feed.now = kT0 + 31s;
            REQUIRE(feed(tmpl) == DecodeStatus::ok);
            CHECK(feed.out.empty());
            CHECK(format_summary(feed.collector.stats(), feed.collector.sequences(), 0) ==
                  "2 datagrams, 0 records, 0 malformed, 1 sets held for a template (0 released), "
                  "1 sets dropped without template, 0 lost records, 0 out of order, 0 kernel "
                  "drops");
        }
        SUBCASE("a datagram 30 s later expires it before its template can release it") {
            feed.now = kT0 + 30s;
            REQUIRE(feed(tmpl) == DecodeStatus::ok);
            CHECK(feed.out.empty());
            CHECK(feed.counters().expired_sets == 1);
        }
    }

    TEST_CASE("the memory held for missing templates is bounded") {
        Feed feed;
        const Bytes big = ipfix(0, 1, {set(256, Bytes(60'000, 0x11))});
        for (int i = 0; i < 80; ++i) (void)feed(big);
        const TemplateCounters t = feed.counters();
        CHECK(t.held_sets + t.overflow_sets == 80);
        CHECK(t.overflow_sets > 0);
        CHECK(feed.collector.decoder().held().bytes() <= HeldSets::kMaxHeldBytes);
    }

    TEST_CASE("v9 data before its template is counted and dropped, not held") {
        Feed feed;
        REQUIRE(feed(v9(0, 0, {set(256, small_record(1, 3))})) == DecodeStatus::ok);
        REQUIRE(feed(v9(1, 0, {set(0, template_record(256, kSmallFields))})) == DecodeStatus::ok);
        CHECK(feed.out.empty());
        CHECK(feed.counters().no_template_sets == 1);
        CHECK(feed.counters().held_sets == 0);
        CHECK(feed.collector.sequences().lost_records() == 0);
    }

    TEST_CASE("sequence numbers follow each format's unit") {
        Feed feed;
        SUBCASE("v9 counts datagrams: a gap of two is two lost") {
            const Bytes tmpl = set(0, template_record(256, kSmallFields));
            const Bytes data = set(256, concat({small_record(1, 1), small_record(2, 1)}));
            (void)feed(v9(10, 0, {tmpl, data}));
            (void)feed(v9(11, 0, {data}));
            (void)feed(v9(14, 0, {data}));
            CHECK(feed.collector.sequences().lost_records() == 2);
        }
        SUBCASE("IPFIX counts every data record, options records included (RFC 7011)") {
            const Bytes two = set(256, concat({small_record(1, 1), small_record(2, 1)}));
            (void)feed(ipfix(100, 1,
                             {set(2, template_record(256, kSmallFields)), set(3, kOptionsTemplate),
                              two, set(258, option_record())}));
            (void)feed(ipfix(103, 1, {set(256, small_record(3, 1))}));  // 2 flows + 1 options
            CHECK(feed.collector.sequences().lost_records() == 0);
            CHECK(feed.collector.sequences().out_of_order() == 0);
            (void)feed(ipfix(107, 1, {two}));  // 104 expected: 3 records lost
            CHECK(feed.collector.sequences().lost_records() == 3);
            CHECK(feed.counters().option_records == 1);
        }
        SUBCASE("IPFIX data with an unknown template resynchronizes instead of counting loss") {
            (void)feed(ipfix(0, 1, {set(300, small_record(1, 1))}));
            (void)feed(ipfix(57, 1, {set(2, template_record(256, kSmallFields))}));
            CHECK(feed.collector.sequences().lost_records() == 0);
            (void)feed(ipfix(57, 1, {set(256, small_record(1, 1))}));
            (void)feed(ipfix(60, 1, {set(256, small_record(1, 1))}));
            CHECK(feed.collector.sequences().lost_records() == 2);
        }
    }

    TEST_CASE("template state is kept apart by exporter address and by domain") {
        const Bytes define = ipfix(0, 1, {set(2, template_record(256, kSmallFields))});
        Feed feed;
        REQUIRE(feed(define, endpoint(1)) == DecodeStatus::ok);
        SUBCASE("another address") {
            (void)feed(ipfix(0, 1, {set(256, small_record(1, 1))}), endpoint(2));
        }
        SUBCASE("another port of the same address") {
            (void)feed(ipfix(0, 1, {set(256, small_record(1, 1))}), endpoint(1, 4740));
        }
        SUBCASE("another observation domain") {
            (void)feed(ipfix(0, 2, {set(256, small_record(1, 1))}), endpoint(1));
        }
        SUBCASE("another version with the same domain") {
            (void)feed(v9(0, 1, {set(256, small_record(1, 1))}), endpoint(1));
            CHECK(feed.counters().no_template_sets == 1);
        }
        CHECK(feed.out.empty());
        CHECK(feed(ipfix(1, 1, {set(256, small_record(1, 1))}), endpoint(1)) == DecodeStatus::ok);
        CHECK(feed.lines() == 1);
    }

    TEST_CASE("malformed v9 and IPFIX input is counted by reason, never read past") {
        const Bytes tmpl = set(2, template_record(256, kSmallFields));
        const Bytes data = set(256, small_record(1, 1));
        DatagramDecoder decoder;
        auto status = [&](const Bytes& d) { return decode(decoder, d).status; };

        SUBCASE("headers") {
            CHECK(status(Bytes(kIpfixIpv4.begin(), kIpfixIpv4.begin() + 15)) ==
                  DecodeStatus::too_short);
            CHECK(status(Bytes{0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) ==
                  DecodeStatus::too_short);
            CHECK(status(with_be16(kIpfixIpv4, 2, 171)) == DecodeStatus::length_mismatch);
            CHECK(status(with_be16(kIpfixIpv4, 2, 173)) == DecodeStatus::length_mismatch);
            CHECK(status(Bytes(kIpfixIpv4.begin(), kIpfixIpv4.end() - 1)) ==
                  DecodeStatus::length_mismatch);
        }
        SUBCASE("set lengths") {
            CHECK(status(with_be16(kIpfixIpv4, 18, 3)) == DecodeStatus::bad_set_length);
            CHECK(status(with_be16(kIpfixIpv4, 18, 300)) == DecodeStatus::bad_set_length);
            Bytes trailing = ipfix(0, 1, {tmpl});
            trailing.insert(trailing.end(), {0, 0});
            trailing[3] = static_cast<std::uint8_t>(trailing.size());
            CHECK(status(trailing) == DecodeStatus::bad_set_length);
            CHECK(status(v9(0, 0, {set(0, template_record(256, kSmallFields)), Bytes{0, 1, 0}})) ==
                  DecodeStatus::bad_set_length);
        }
        SUBCASE("templates") {
            CHECK(status(v9(0, 0, {set(0, template_record(256, {}))})) ==
                  DecodeStatus::bad_template);  // v9 has no withdrawal
            Bytes past = template_record(256, kSmallFields);
            past[3] = 4;  // 4 fields, 3 present
            CHECK(status(ipfix(0, 1, {set(2, past)})) == DecodeStatus::bad_template);
            Bytes enterprise_cut;
            put16(enterprise_cut, 256);
            put16(enterprise_cut, 1);
            put16(enterprise_cut, 0x8001);
            put16(enterprise_cut, 4);
            put16(enterprise_cut, 0);  // half an enterprise number
            CHECK(status(ipfix(0, 1, {set(2, enterprise_cut)})) == DecodeStatus::bad_template);
            CHECK(status(ipfix(0, 1, {set(2, template_record(256, {{82, 40000}, {83, 40000}}))})) ==
                  DecodeStatus::bad_template);
            CHECK(status(ipfix(0, 1, {set(2, template_record(256, {{82, 0}, {83, 0}}))})) ==
                  DecodeStatus::bad_template);
            CHECK(status(ipfix(0, 1, {set(2, template_record(255, kSmallFields))})) ==
                  DecodeStatus::bad_template);
        }
        SUBCASE("options templates") {
            const Bytes no_scope = options_template_record(258, 0, {{41, 8}});
            CHECK(status(ipfix(0, 1, {set(3, no_scope)})) == DecodeStatus::bad_options_template);
            for (std::uint16_t scope_bytes : {0, 6}) {
                Bytes v9_options;
                put16(v9_options, 258);
                put16(v9_options, scope_bytes);
                put16(v9_options, 4);
                for (std::uint16_t v : {1, 4, 34, 4}) put16(v9_options, v);
                CHECK(status(v9(0, 0, {set(1, v9_options)})) == DecodeStatus::bad_options_template);
            }
        }
        SUBCASE("unknown set ids are skipped, and the sets after them decoded") {
            const Decoded d = decode(decoder, ipfix(0, 1, {tmpl, set(4, Bytes{1, 2, 3, 4}), data}));
            CHECK(d.status == DecodeStatus::unknown_set_id);
            CHECK(d.flows.size() == 1);
            CHECK(status(ipfix(0, 1, {set(1, Bytes{})})) == DecodeStatus::unknown_set_id);
            CHECK(status(v9(0, 0, {set(2, Bytes{})})) == DecodeStatus::unknown_set_id);
        }
        SUBCASE("a variable-length field past its set") {
            Bytes record = {10, 0, 0, 1, 200, 'x'};
            const Decoded d =
                decode(decoder, ipfix(0, 1,
                                      {set(2, template_record(256, {{8, 4}, {82, 65535}})),
                                       set(256, concat({Bytes{10, 0, 0, 2, 1, 'y'}, record}))}));
            CHECK(d.status == DecodeStatus::bad_record);
            CHECK(d.flows.size() == 1);  // the whole record before it is kept
            CHECK(d.flows.extras(0) == ",\"ie82\":\"79\"");
            CHECK(d.header.increment_unknown);
        }
        SUBCASE("sets decoded before a bad set length are kept") {
            Bytes d = ipfix(0, 1, {tmpl, data, set(256, small_record(2, 2))});
            d[d.size() - 14] = 0xFF;  // the last set's length runs past the end
            const Decoded r = decode(decoder, d);
            CHECK(r.status == DecodeStatus::bad_set_length);
            CHECK(r.flows.size() == 1);
        }
    }

    TEST_CASE("the summary names the new reasons and counts options records") {
        Feed feed;
        (void)feed(with_be16(kIpfixIpv4, 2, 171));
        (void)feed(ipfix(0, 1, {set(4, Bytes{})}));
        (void)feed(ipfix(1, 1, {set(3, kOptionsTemplate), set(258, option_record())}));
        CHECK(format_summary(feed.collector.stats(), feed.collector.sequences(), std::nullopt) ==
              "3 datagrams, 0 records, 2 malformed (1 length mismatch, 1 unknown set id), "
              "1 option records, 0 lost records, 0 out of order");
    }

    TEST_CASE("every prefix and random mutations of a message decode without a bad read") {
        DatagramDecoder decoder;
        // v9 has no variable-length fields: a fixed-length template, so that the mutations reach
        // the record decoder (the unmodified message decodes to one flow, checked below).
        const Bytes v9_message =
            v9(0, 0, {set(0, template_record(256, kSmallFields)), set(256, small_record(1, 1))});
        {
            DatagramDecoder fresh;
            const Decoded whole = decode(fresh, v9_message);
            REQUIRE(whole.status == DecodeStatus::ok);
            REQUIRE(whole.flows.records.size() == 1);
        }
        for (const Bytes& whole : {kIpfixIpv4, v9_message}) {
            for (std::size_t n = 0; n <= whole.size(); ++n) {
                Bytes prefix(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n));
                if (n >= 4 && whole[1] == 10)
                    prefix = with_be16(prefix, 2, static_cast<std::uint16_t>(n));
                (void)decode(decoder, prefix);
            }
        }
        std::mt19937 rng(12345);
        for (int i = 0; i < 20'000; ++i) {
            Bytes d = (i % 2 == 0) ? kIpfixIpv4 : v9_message;
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int f = 0; f < flips; ++f) d[rng() % d.size()] = static_cast<std::uint8_t>(rng());
            (void)decode(decoder, d, endpoint(1), kT0 + std::chrono::seconds(i / 1000));
        }
        CHECK(decoder.held().bytes() <= HeldSets::kMaxHeldBytes);
    }
}
