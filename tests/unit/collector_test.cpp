// spanflow-collect's library: the v5 decoder against datagrams written by hand from the format, its
// refusal reasons, per-exporter sequence tracking, and the UDP listener on loopback.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "export/collector/collector.hpp"
#include "export/collector/datagram_decoder.hpp"
#include "export/collector/endpoint.hpp"
#include "export/collector/sequence_tracker.hpp"
#include "export/collector/udp_listener.hpp"
#include "export/collector/v5_decoder.hpp"

using namespace spanflow;
using namespace spanflow::collector;

namespace {

// A NetFlow v5 datagram with two records, written byte for byte from Cisco's format description
// (not from the encoder, and not through the offset constants).
//   sysUptime 1'000'000 ms, unix_secs 0x65000000 = 1'694'498'816, unix_nsecs 500'000'000
//   => boot = 1'694'498'816'000 - 1'000'000 = 1'694'497'816'000 ms (nsecs ignored).
// clang-format off
const std::vector<std::uint8_t> kTwoRecords = {
    // header
    0x00, 0x05,              // version 5
    0x00, 0x02,              // count 2
    0x00, 0x0F, 0x42, 0x40,  // sysUptime 1'000'000 ms
    0x65, 0x00, 0x00, 0x00,  // unix_secs 1'694'498'816
    0x1D, 0xCD, 0x65, 0x00,  // unix_nsecs 500'000'000
    0x00, 0x00, 0x00, 0x64,  // flow_sequence 100
    0x01,                    // engine_type 1
    0x02,                    // engine_id 2
    0x00, 0x00,              // sampling_interval
    // record 1: TCP 192.0.2.1:50000 -> 198.51.100.7:443
    0xC0, 0x00, 0x02, 0x01,  // srcaddr 192.0.2.1
    0xC6, 0x33, 0x64, 0x07,  // dstaddr 198.51.100.7
    0xC0, 0x00, 0x02, 0xFE,  // nexthop 192.0.2.254
    0x00, 0x03,              // input ifIndex 3
    0x00, 0x04,              // output ifIndex 4
    0x00, 0x00, 0x00, 0x0A,  // dPkts 10
    0x00, 0x00, 0x0F, 0xA0,  // dOctets 4000
    0x00, 0x0F, 0x3E, 0x58,  // First 999'000 (1 s before sysUptime)
    0x00, 0x0F, 0x41, 0x78,  // Last 999'800
    0xC3, 0x50,              // srcport 50000
    0x01, 0xBB,              // dstport 443
    0x00,                    // pad1
    0x1B,                    // tcp_flags FIN|SYN|PSH|ACK
    0x06,                    // prot TCP
    0xB8,                    // tos 0xB8 (DSCP EF)
    0xFD, 0xE8,              // src_as 65000
    0xFD, 0xE9,              // dst_as 65001
    0x18,                    // src_mask /24
    0x10,                    // dst_mask /16
    0x00, 0x00,              // pad2
    // record 2: UDP 10.0.0.1:53 -> 10.0.0.2:33000, one packet at the export time
    0x0A, 0x00, 0x00, 0x01,  // srcaddr 10.0.0.1
    0x0A, 0x00, 0x00, 0x02,  // dstaddr 10.0.0.2
    0x00, 0x00, 0x00, 0x00,  // nexthop
    0x00, 0x00,              // input 0
    0x00, 0x00,              // output 0
    0x00, 0x00, 0x00, 0x01,  // dPkts 1
    0x00, 0x00, 0x00, 0x4C,  // dOctets 76
    0x00, 0x0F, 0x42, 0x40,  // First 1'000'000
    0x00, 0x0F, 0x42, 0x40,  // Last 1'000'000
    0x00, 0x35,              // srcport 53
    0x80, 0xE8,              // dstport 33000
    0x00,                    // pad1
    0x00,                    // tcp_flags
    0x11,                    // prot UDP
    0x00,                    // tos
    0x00, 0x00, 0x00, 0x00,  // src_as, dst_as
    0x00, 0x00,              // masks
    0x00, 0x00,              // pad2
};
// clang-format on

constexpr std::int64_t kNsPerMs = 1'000'000;

std::array<std::uint8_t, 16> ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return {a, b, c, d};
}

// The first `n` bytes of `d` in an allocation of exactly that size, so that ASan catches any read
// past the end.
std::vector<std::uint8_t> first_bytes(const std::vector<std::uint8_t>& d, std::size_t n) {
    return std::vector<std::uint8_t>(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n));
}

void set_be16(std::vector<std::uint8_t>& d, std::size_t at, std::uint16_t v) {
    d[at] = static_cast<std::uint8_t>(v >> 8);
    d[at + 1] = static_cast<std::uint8_t>(v);
}
void set_be32(std::vector<std::uint8_t>& d, std::size_t at, std::uint32_t v) {
    set_be16(d, at, static_cast<std::uint16_t>(v >> 16));
    set_be16(d, at + 2, static_cast<std::uint16_t>(v));
}

// The collector's clock: v5 decoding never looks at it.
const Collector::Clock::time_point kNow{};

DecodeStatus decode(std::span<const std::uint8_t> d, DatagramHeader& header,
                    std::vector<FlowRecord>& records) {
    DatagramDecoder decoder;
    DecodedFlows flows;
    const DecodeStatus status = decoder.decode(d, Endpoint{}, kNow, header, flows);
    records = flows.records;
    return status;
}

DecodeStatus decode(const std::vector<std::uint8_t>& d, std::vector<FlowRecord>& records) {
    DatagramHeader header;
    return decode(d, header, records);
}

ExporterKey exporter(std::uint16_t port, std::uint32_t domain = 0) {
    Endpoint e;
    e.addr = ipv4(192, 0, 2, 9);
    e.port = port;
    return ExporterKey{e, 5, domain};
}

}  // namespace

TEST_SUITE("collector") {
    TEST_CASE("a hand-built v5 datagram decodes to its two records, field by field") {
        std::vector<FlowRecord> records;
        DatagramHeader header;
        REQUIRE(decode(kTwoRecords, header, records) == DecodeStatus::ok);
        CHECK(header.version == 5);
        CHECK(header.sequence == 100);
        CHECK(header.sequence_increment == 2);
        CHECK(header.domain == 0x0102);
        REQUIRE(records.size() == 2);

        SUBCASE("the TCP record with interface, flags and ToS") {
            const FlowRecord& r = records[0];
            CHECK(r.key.ip_version == 4);
            CHECK(r.key.src_addr == ipv4(192, 0, 2, 1));
            CHECK(r.key.dst_addr == ipv4(198, 51, 100, 7));
            CHECK(r.key.ifindex == 3);
            CHECK(r.key.src_port == 50000);
            CHECK(r.key.dst_port == 443);
            CHECK(r.key.protocol == 6);
            CHECK(r.key.tos == 0xB8);
            CHECK(r.key.reserved_ == 0);
            CHECK(r.tcp_flags == 0x1B);
            CHECK(r.packets == 10);
            CHECK(r.bytes == 4000);
            CHECK(r.first == Timestamp::from_ns(1'694'498'815'000 * kNsPerMs));
            CHECK(r.last == Timestamp::from_ns(1'694'498'815'800 * kNsPerMs));
            CHECK(r.end_reason == FlowEndReason::unknown);
            CHECK_FALSE(r.has_vlan);
            CHECK_FALSE(r.has_src_mac);
            CHECK_FALSE(r.has_dst_mac);
        }
        SUBCASE("the UDP record ending at the export time") {
            const FlowRecord& r = records[1];
            CHECK(r.key.ip_version == 4);
            CHECK(r.key.src_addr == ipv4(10, 0, 0, 1));
            CHECK(r.key.dst_addr == ipv4(10, 0, 0, 2));
            CHECK(r.key.ifindex == 0);
            CHECK(r.key.src_port == 53);
            CHECK(r.key.dst_port == 33000);
            CHECK(r.key.protocol == 17);
            CHECK(r.key.tos == 0);
            CHECK(r.tcp_flags == 0);
            CHECK(r.packets == 1);
            CHECK(r.bytes == 76);
            CHECK(r.first == Timestamp::from_ns(1'694'498'816'000 * kNsPerMs));
            CHECK(r.last == r.first);
            CHECK(r.end_reason == FlowEndReason::unknown);
        }
    }

    TEST_CASE("the collector writes one JSON line per record, without an end reason for v5") {
        Collector c;
        std::string out;
        Endpoint from;
        from.addr = ipv4(127, 0, 0, 1);
        from.port = 40000;
        REQUIRE(c.on_datagram(kTwoRecords, from, out, kNow) == DecodeStatus::ok);
        const auto newline = out.find('\n');
        REQUIRE(newline != std::string::npos);
        const std::string first = out.substr(0, newline + 1);
        CHECK(first ==
              "{\"sourceIPv4Address\":\"192.0.2.1\",\"destinationIPv4Address\":\"198.51.100.7\","
              "\"protocolIdentifier\":6,\"sourceTransportPort\":50000,"
              "\"destinationTransportPort\":443,\"ipClassOfService\":184,"
              "\"ingressInterface\":3,\"packetDeltaCount\":10,\"octetDeltaCount\":4000,"
              "\"tcpControlBits\":27,\"flowStartMilliseconds\":1694498815000,"
              "\"flowEndMilliseconds\":1694498815800}\n");
        CHECK(out.find('\n', newline + 1) == out.size() - 1);
        CHECK(out.find("flowEndReason") == std::string::npos);
        CHECK(c.stats().datagrams == 1);
        CHECK(c.stats().records == 2);
        CHECK(c.stats().malformed() == 0);
    }

    TEST_CASE("times are rebuilt across a wrap of the exporter's 32-bit uptime, as nfdump does") {
        constexpr std::int64_t kExportMs = 1'694'498'816'000;
        auto d = kTwoRecords;
        set_be32(d, 4, 100);  // sysUptime just after the wrap
        std::vector<FlowRecord> records;
        SUBCASE("a flow that started before the wrap and ended after it") {
            set_be32(d, 24 + 24, 0xFFFFFC18);  // record 1 First: 1000 ms before the wrap
            set_be32(d, 24 + 28, 50);          // record 1 Last
            REQUIRE(decode(d, records) == DecodeStatus::ok);
            CHECK(records[0].first.ms() == kExportMs - 1100);
            CHECK(records[0].last.ms() == kExportMs - 50);
        }
        SUBCASE("a flow that ended before the wrap") {
            set_be32(d, 24 + 24, 0xFFFFF000);  // 4196 ms before the export time
            set_be32(d, 24 + 28, 0xFFFFFC18);  // 1100 ms before it
            REQUIRE(decode(d, records) == DecodeStatus::ok);
            CHECK(records[0].first.ms() == kExportMs - 4196);
            CHECK(records[0].last.ms() == kExportMs - 1100);
        }
        SUBCASE("a Last a little past sysUptime is not a wrap (Cisco CSCei12353)") {
            set_be32(d, 24 + 24, 0);
            set_be32(d, 24 + 28, 100 + 100'000);
            REQUIRE(decode(d, records) == DecodeStatus::ok);
            CHECK(records[0].first.ms() == kExportMs - 100);
            CHECK(records[0].last.ms() == kExportMs + 100'000);
        }
    }

    TEST_CASE("a flow almost 2^32 ms older than its export decodes exactly") {
        // The probe never wraps sysUptime: it can reach 2^32 - 1 with First still 0.
        auto d = kTwoRecords;
        set_be32(d, 4, 0xFFFFFFFF);  // sysUptime
        set_be32(d, 8, 0xFFFFFFFF);  // unix_secs, the largest there is
        set_be32(d, 24 + 24, 0);     // First
        set_be32(d, 24 + 28, 0x7FFFFFFF);
        std::vector<FlowRecord> records;
        REQUIRE(decode(d, records) == DecodeStatus::ok);
        constexpr std::int64_t kExportMs = std::int64_t{0xFFFFFFFF} * 1000;
        CHECK(records[0].first.ms() == kExportMs - 0xFFFFFFFF);
        CHECK(records[0].last.ms() == kExportMs - 0x80000000LL);
    }

    TEST_CASE("malformed datagrams are refused whole, each with its reason") {
        std::vector<FlowRecord> records;
        SUBCASE("shorter than the 24-byte header") {
            CHECK(decode(first_bytes(kTwoRecords, 23), records) == DecodeStatus::too_short);
        }
        SUBCASE("too short to hold a version field") {
            CHECK(decode(first_bytes(kTwoRecords, 1), records) == DecodeStatus::too_short);
            CHECK(decode({}, records) == DecodeStatus::too_short);
        }
        SUBCASE("a version without a decoder") {
            for (std::uint16_t version : {1, 7, 8, 11, 0xFFFF}) {
                auto d = kTwoRecords;
                set_be16(d, 0, version);
                CHECK(decode(d, records) == DecodeStatus::unsupported_version);
            }
        }
        SUBCASE("a count of 0") {
            auto d = first_bytes(kTwoRecords, 24);
            set_be16(d, 2, 0);
            CHECK(decode(d, records) == DecodeStatus::bad_count);
        }
        SUBCASE("a count above 30") {
            auto d = kTwoRecords;
            set_be16(d, 2, 31);
            d.resize(24 + 31 * 48);
            CHECK(decode(d, records) == DecodeStatus::bad_count);
            set_be16(d, 2, 0xFFFF);
            CHECK(decode(d, records) == DecodeStatus::bad_count);
        }
        SUBCASE("fewer bytes than the count of records needs") {
            CHECK(decode(first_bytes(kTwoRecords, 24 + 48 + 47), records) ==
                  DecodeStatus::truncated);
            CHECK(decode(first_bytes(kTwoRecords, 24), records) == DecodeStatus::truncated);
        }
        CHECK(records.empty());
    }

    TEST_CASE("a refused datagram leaves no records from an earlier one behind") {
        std::vector<FlowRecord> records;
        REQUIRE(decode(kTwoRecords, records) == DecodeStatus::ok);
        CHECK(decode(first_bytes(kTwoRecords, 30), records) == DecodeStatus::truncated);
        CHECK(records.empty());
    }

    TEST_CASE("bytes after the last record are accepted and not decoded") {
        auto d = kTwoRecords;
        d.insert(d.end(), {0xDE, 0xAD, 0xBE, 0xEF});
        std::vector<FlowRecord> records;
        CHECK(decode(d, records) == DecodeStatus::ok);
        CHECK(records.size() == 2);
    }

    TEST_CASE("the collector counts every malformed reason in its summary") {
        Collector c;
        std::string out;
        const Endpoint from{};
        auto bad_version = kTwoRecords;
        set_be16(bad_version, 0, 7);  // between v5 and v9: no such format
        auto bad_count = kTwoRecords;
        set_be16(bad_count, 2, 0);
        (void)c.on_datagram(first_bytes(kTwoRecords, 10), from, out, kNow);
        (void)c.on_datagram(bad_version, from, out, kNow);
        (void)c.on_datagram(bad_count, from, out, kNow);
        (void)c.on_datagram(first_bytes(kTwoRecords, 71), from, out, kNow);
        (void)c.on_datagram(first_bytes(kTwoRecords, 72), from, out,
                            kNow);  // one whole record short
        (void)c.on_datagram(kTwoRecords, from, out, kNow);
        CHECK(out.find("192.0.2.1") != std::string::npos);
        CHECK(format_summary(c.stats(), c.sequences(), 3) ==
              "6 datagrams, 2 records, 5 malformed (1 too short, 1 unsupported version, 1 bad "
              "count, 2 truncated), 0 lost records, 0 out of order, 3 kernel drops");
    }

    TEST_CASE("a clean run's summary has no reasons list") {
        Collector c;
        std::string out;
        (void)c.on_datagram(kTwoRecords, Endpoint{}, out, kNow);
        CHECK(
            format_summary(c.stats(), c.sequences(), 0) ==
            "1 datagrams, 2 records, 0 malformed, 0 lost records, 0 out of order, 0 kernel drops");
        CHECK(format_exporter_problems(c.sequences()).empty());
        CHECK(format_summary(c.stats(), c.sequences(), std::nullopt) ==
              "1 datagrams, 2 records, 0 malformed, 0 lost records, 0 out of order");
    }

    TEST_CASE("the first datagram of an exporter only synchronizes") {
        SequenceTracker t;
        CHECK(t.observe(exporter(1), 123456, 30).event == SequenceEvent::first);
        CHECK(t.observe(exporter(1), 123486, 30).event == SequenceEvent::in_order);
        CHECK(t.lost_records() == 0);
        CHECK(t.out_of_order() == 0);
    }

    TEST_CASE("a gap in the sequence is counted as lost records") {
        SequenceTracker t;
        (void)t.observe(exporter(1), 0, 30);
        const auto r = t.observe(exporter(1), 60, 30);
        CHECK(r.event == SequenceEvent::gap);
        CHECK(r.records == 30);
        CHECK(t.observe(exporter(1), 90, 10).event == SequenceEvent::in_order);
        CHECK(t.lost_records() == 30);
        CHECK(t.out_of_order() == 0);
    }

    TEST_CASE("the sequence wraps at 2^32 without a false loss") {
        SequenceTracker t;
        (void)t.observe(exporter(1), 0xFFFF'FFF0u, 30);  // next expected: 14
        CHECK(t.observe(exporter(1), 14, 30).event == SequenceEvent::in_order);
        CHECK(t.lost_records() == 0);
        SUBCASE("and a gap across the wrap counts only the missing records") {
            SequenceTracker u;
            (void)u.observe(exporter(1), 0xFFFF'FFF0u, 10);  // next expected: 0xFFFFFFFA
            const auto r = u.observe(exporter(1), 4, 10);
            CHECK(r.event == SequenceEvent::gap);
            CHECK(r.records == 10);
            CHECK(u.lost_records() == 10);
            SUBCASE("which a late datagram across the wrap fills again") {
                CHECK(u.observe(exporter(1), 0xFFFF'FFFAu, 10).event == SequenceEvent::late);
                CHECK(u.lost_records() == 0);
                CHECK(u.out_of_order() == 1);
            }
        }
    }

    TEST_CASE("two swapped datagrams are out of order, not lost") {
        SequenceTracker t;
        (void)t.observe(exporter(1), 0, 30);
        CHECK(t.observe(exporter(1), 60, 30).event == SequenceEvent::gap);  // B not here yet
        const auto late = t.observe(exporter(1), 30, 30);                   // B arrives
        CHECK(late.event == SequenceEvent::late);
        CHECK(late.records == 30);
        CHECK(t.observe(exporter(1), 90, 30).event == SequenceEvent::in_order);
        CHECK(t.lost_records() == 0);
        CHECK(t.out_of_order() == 1);
    }

    TEST_CASE("late datagrams fill a gap piece by piece, from its middle too") {
        SequenceTracker t;
        (void)t.observe(exporter(1), 0, 10);
        (void)t.observe(exporter(1), 50, 10);  // 10..49 missing
        CHECK(t.lost_records() == 40);
        CHECK(t.observe(exporter(1), 30, 10).event == SequenceEvent::late);  // splits the gap
        CHECK(t.lost_records() == 30);
        CHECK(t.observe(exporter(1), 10, 10).event == SequenceEvent::late);
        CHECK(t.observe(exporter(1), 40, 10).event == SequenceEvent::late);
        CHECK(t.lost_records() == 10);
        CHECK(t.observe(exporter(1), 20, 10).event == SequenceEvent::late);
        CHECK(t.lost_records() == 0);
        CHECK(t.out_of_order() == 4);
        // The gap is used up: the same datagram again is a duplicate, not more recovered loss.
        CHECK(t.observe(exporter(1), 20, 10).event == SequenceEvent::restart);
        CHECK(t.lost_records() == 0);
    }

    TEST_CASE("a sequence that jumps back is a restart: resynchronized, no loss") {
        SequenceTracker t;
        (void)t.observe(exporter(1), 100'000, 30);
        const auto r = t.observe(exporter(1), 0, 30);
        CHECK(r.event == SequenceEvent::restart);
        CHECK(t.observe(exporter(1), 30, 30).event == SequenceEvent::in_order);
        CHECK(t.lost_records() == 0);
        CHECK(t.out_of_order() == 1);
    }

    TEST_CASE("engines and source ports of one address are tracked apart") {
        SequenceTracker t;
        (void)t.observe(exporter(1, 0x0000), 0, 30);
        (void)t.observe(exporter(1, 0x0001), 500, 30);
        (void)t.observe(exporter(2, 0x0000), 9000, 30);
        CHECK(t.observe(exporter(1, 0x0000), 30, 30).event == SequenceEvent::in_order);
        CHECK(t.observe(exporter(1, 0x0001), 530, 30).event == SequenceEvent::in_order);
        CHECK(t.observe(exporter(2, 0x0000), 9030, 30).event == SequenceEvent::in_order);
        CHECK(t.exporters().size() == 3);
        CHECK(t.lost_records() == 0);
    }

    TEST_CASE("an exporter with loss gets its own summary line") {
        SequenceTracker t;
        (void)t.observe(exporter(40000, 0x0102), 0, 30);
        (void)t.observe(exporter(40000, 0x0102), 90, 30);
        const auto lines = format_exporter_problems(t);
        REQUIRE(lines.size() == 1);
        CHECK(
            lines[0] ==
            "exporter 192.0.2.9:40000 v5 engine 1/2: 2 datagrams, 60 lost records, 0 out of order");
    }

    TEST_CASE("listen endpoints parse as ADDR:PORT or [ADDR]:PORT and nothing else") {
        const auto v4 = parse_endpoint("127.0.0.1:2055");
        REQUIRE(v4);
        CHECK(v4->ip_version == 4);
        CHECK(v4->addr == ipv4(127, 0, 0, 1));
        CHECK(v4->port == 2055);
        CHECK(format_endpoint(*v4) == "127.0.0.1:2055");

        const auto v6 = parse_endpoint("[::1]:0");
        REQUIRE(v6);
        CHECK(v6->ip_version == 6);
        CHECK(v6->addr[15] == 1);
        CHECK(v6->port == 0);
        CHECK(format_endpoint(*v6) == "[::1]:0");
        CHECK(format_endpoint(*parse_endpoint("[2001:db8::7]:65535")) == "[2001:db8::7]:65535");

        for (const char* bad :
             {"", "foo", "127.0.0.1", "127.0.0.1:", ":2055", "127.0.0.1:65536", "127.0.0.1:-1",
              "127.0.0.1:20x", "localhost:2055", "::1:2055", "[::1]", "[::1]2055", "[::1:2055",
              "[127.0.0.1]:2055", "1.2.3.4.5:1", "127.0.0.1:+1", "127.0.0.1:123456"}) {
            INFO("text: '" << bad << "'");
            CHECK_FALSE(parse_endpoint(bad));
        }
    }

    TEST_CASE("an IPv4-mapped IPv6 source becomes a plain IPv4 exporter") {
        sockaddr_in6 s{};
        s.sin6_family = AF_INET6;
        s.sin6_port = htons(9995);
        REQUIRE(inet_pton(AF_INET6, "::ffff:192.0.2.5", &s.sin6_addr) == 1);
        sockaddr_storage sa{};
        std::memcpy(&sa, &s, sizeof s);
        const auto e = from_sockaddr(sa, sizeof s);
        REQUIRE(e);
        CHECK(format_endpoint(*e) == "192.0.2.5:9995");
        CHECK_FALSE(from_sockaddr(sa, sizeof(sockaddr_in)));  // too short for its family
    }

    TEST_CASE("the listener receives a datagram sent over loopback and it decodes") {
        for (const char* at : {"127.0.0.1:0", "[::1]:0"}) {
            INFO("listening on " << at);
            UdpListener listener;
            const auto opened = listener.open(*parse_endpoint(at));
            if (opened.status != OpenStatus::ok && std::string{at} == "[::1]:0" &&
                (opened.error == EAFNOSUPPORT || opened.error == EADDRNOTAVAIL)) {
                MESSAGE("no IPv6 loopback on this machine: IPv6 listener not tested");
                continue;
            }
            REQUIRE(opened.status == OpenStatus::ok);
            const Endpoint local = listener.local();
            CHECK(local.port != 0);
            CHECK(listener.receive_buffer_bytes() > 0);

            sockaddr_storage to;
            const socklen_t to_len = to_sockaddr(local, to);
            const int tx = ::socket(to.ss_family, SOCK_DGRAM, 0);
            REQUIRE(tx >= 0);
            REQUIRE(::sendto(tx, kTwoRecords.data(), kTwoRecords.size(), 0,
                             reinterpret_cast<const sockaddr*>(&to),
                             to_len) == static_cast<ssize_t>(kTwoRecords.size()));
            sockaddr_storage tx_name{};
            socklen_t tx_len = sizeof tx_name;
            REQUIRE(::getsockname(tx, reinterpret_cast<sockaddr*>(&tx_name), &tx_len) == 0);
            ::close(tx);

            REQUIRE(listener.wait(std::chrono::milliseconds{2000}) == WaitStatus::ready);
            const ReceiveResult r = listener.receive();
            REQUIRE(r.status == ReceiveStatus::ok);
            REQUIRE(r.count == 1);
            const auto bytes = listener.datagram(0);
            CHECK(std::vector<std::uint8_t>(bytes.begin(), bytes.end()) == kTwoRecords);
            const Endpoint src = listener.source(0);
            CHECK(src.ip_version == local.ip_version);
            CHECK(src.addr == local.addr);
            CHECK(src.port == from_sockaddr(tx_name, tx_len)->port);

            std::vector<FlowRecord> records;
            DatagramHeader header;
            REQUIRE(decode(bytes, header, records) == DecodeStatus::ok);
            REQUIRE(records.size() == 2);
            CHECK(records[0].key.dst_port == 443);

            CHECK(listener.receive().count == 0);  // nothing else waiting, and no blocking
            CHECK(listener.wait(std::chrono::milliseconds{1}) == WaitStatus::timeout);
            CHECK(listener.kernel_drops() == std::optional<std::uint32_t>{0});
        }
    }

    TEST_CASE("datagrams the socket buffer could not hold are counted as kernel drops") {
        UdpListener listener;
        REQUIRE(listener.open(*parse_endpoint("127.0.0.1:0")).status == OpenStatus::ok);
        sockaddr_storage to;
        const socklen_t to_len = to_sockaddr(listener.local(), to);
        const int tx = ::socket(AF_INET, SOCK_DGRAM, 0);
        REQUIRE(tx >= 0);
        // Far more than the 64 MiB buffer holds (the kernel charges each datagram its whole
        // buffer, well above the 1464 bytes of a full v5 datagram), sent while nobody reads.
        const std::vector<std::uint8_t> full(24 + 30 * 48, 0);
        constexpr int kSent = 100'000;
        int sent = 0;
        for (int i = 0; i < kSent; ++i) {
            sent +=
                ::sendto(tx, full.data(), full.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                         to_len) == static_cast<ssize_t>(full.size());
        }
        REQUIRE(sent == kSent);
        ::close(tx);
        std::uint64_t received = 0;
        for (;;) {
            const ReceiveResult r = listener.receive();
            REQUIRE(r.status == ReceiveStatus::ok);
            if (r.count == 0) break;
            received += r.count;
        }
        const auto drops = listener.kernel_drops();
        REQUIRE(drops);
        CHECK(*drops > 0);
        CHECK(received + *drops == kSent);
    }

    TEST_CASE("binding a port that is taken fails with the system's reason") {
        UdpListener first;
        REQUIRE(first.open(*parse_endpoint("127.0.0.1:0")).status == OpenStatus::ok);
        UdpListener second;
        const auto r = second.open(first.local());
        CHECK(r.status == OpenStatus::bind_failed);
        CHECK(r.error == EADDRINUSE);
    }
}
