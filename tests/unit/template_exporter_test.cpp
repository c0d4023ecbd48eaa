// NetFlow v9 and IPFIX export: messages written byte for byte from RFC 3954 / RFC 7011 and the
// IANA element list (not produced by the encoder), then the exporter's template refresh, sequence
// numbers and datagram size over a real loopback socket.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "export/collector/datagram_decoder.hpp"
#include "export/template_exporter.hpp"
#include "probe/core/byte_order.hpp"
#include "tests/unit/udp_receiver.hpp"

using spanflow::FlowEndReason;
using spanflow::FlowRecord;
using spanflow::TemplateFormat;
using spanflow::Timestamp;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kMs = 1'000'000;

// 192.0.2.1:40000 -> 198.51.100.2:443 TCP, ToS 0x10, ifIndex 3, 5 packets, 1234 bytes, from
// 1700000000.250 to 1700000001.000, flags FIN SYN PSH ACK, ended by FIN, VLAN 100, both MACs.
FlowRecord example_flow() {
    FlowRecord r;
    r.key.ip_version = 4;
    r.key.src_addr = {192, 0, 2, 1};
    r.key.dst_addr = {198, 51, 100, 2};
    r.key.protocol = 6;
    r.key.src_port = 40000;
    r.key.dst_port = 443;
    r.key.tos = 0x10;
    r.key.ifindex = 3;
    r.packets = 5;
    r.bytes = 1234;
    r.first = Timestamp::from_ns(1'700'000'000 * kSec + 250 * kMs);
    r.last = Timestamp::from_ns(1'700'000'001 * kSec);
    r.tcp_flags = 0x1B;
    r.end_reason = FlowEndReason::end_of_flow;
    r.has_vlan = true;
    r.vlan_id = 100;
    r.has_src_mac = r.has_dst_mac = true;
    r.src_mac = {0x02, 0, 0, 0, 0, 0x01};
    r.dst_mac = {0x02, 0, 0, 0, 0, 0x02};
    return r;
}

std::vector<std::uint8_t> encode_one(TemplateFormat format, Timestamp boot) {
    spanflow::TemplateMessageWriter writer(format);
    std::vector<std::uint8_t> buf(1400);
    writer.begin(buf, boot);
    spanflow::ExporterOptions options;
    options.system_init = Timestamp::from_ns(1'700'000'000 * kSec);
    REQUIRE(writer.add_templates(options, 7));
    REQUIRE(writer.add_record(example_flow()));
    spanflow::MessageHeader h;
    h.export_time = Timestamp::from_ns(1'700'000'001 * kSec + 500 * kMs);  // header: ceil -> ...002
    h.sequence = 0;
    h.domain = 7;
    buf.resize(writer.finish(h));
    return buf;
}

// clang-format off
const std::vector<std::uint8_t> kIpfixMessage = {
    // Message header: version 10, length 328, export time 1700000002, sequence 0, domain 7
    0x00, 0x0a, 0x01, 0x48, 0x65, 0x53, 0xf1, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
    // Template set (id 2), length 156
    0x00, 0x02, 0x00, 0x9c,
    // template 256, 18 fields: 8/4 12/4 4/1 7/2 11/2 5/1 10/4 14/4 2/8 1/8 152/8 153/8 6/2 136/1
    // 58/2 56/6 80/6 60/1
    0x01, 0x00, 0x00, 0x12,
    0x00, 0x08, 0x00, 0x04, 0x00, 0x0c, 0x00, 0x04, 0x00, 0x04, 0x00, 0x01, 0x00, 0x07, 0x00, 0x02,
    0x00, 0x0b, 0x00, 0x02, 0x00, 0x05, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x04, 0x00, 0x0e, 0x00, 0x04,
    0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x98, 0x00, 0x08, 0x00, 0x99, 0x00, 0x08,
    0x00, 0x06, 0x00, 0x02, 0x00, 0x88, 0x00, 0x01, 0x00, 0x3a, 0x00, 0x02, 0x00, 0x38, 0x00, 0x06,
    0x00, 0x50, 0x00, 0x06, 0x00, 0x3c, 0x00, 0x01,
    // template 257, the same with 27/16 28/16 for the addresses
    0x01, 0x01, 0x00, 0x12,
    0x00, 0x1b, 0x00, 0x10, 0x00, 0x1c, 0x00, 0x10, 0x00, 0x04, 0x00, 0x01, 0x00, 0x07, 0x00, 0x02,
    0x00, 0x0b, 0x00, 0x02, 0x00, 0x05, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x04, 0x00, 0x0e, 0x00, 0x04,
    0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x98, 0x00, 0x08, 0x00, 0x99, 0x00, 0x08,
    0x00, 0x06, 0x00, 0x02, 0x00, 0x88, 0x00, 0x01, 0x00, 0x3a, 0x00, 0x02, 0x00, 0x38, 0x00, 0x06,
    0x00, 0x50, 0x00, 0x06, 0x00, 0x3c, 0x00, 0x01,
    // Options template set (id 3), length 38: template 258, 7 fields, 1 scope field:
    // 149/4 (scope), 304/2 305/4 306/4 160/8 42/8 41/8
    0x00, 0x03, 0x00, 0x26, 0x01, 0x02, 0x00, 0x07, 0x00, 0x01,
    0x00, 0x95, 0x00, 0x04, 0x01, 0x30, 0x00, 0x02, 0x01, 0x31, 0x00, 0x04, 0x01, 0x32, 0x00, 0x04,
    0x00, 0xa0, 0x00, 0x08, 0x00, 0x2a, 0x00, 0x08, 0x00, 0x29, 0x00, 0x08,
    // Options data set (id 258), length 42: domain 7, selector 1, interval 1, space 0,
    // systemInitTimeMilliseconds 1700000000000, 0 flow records and 0 messages exported before
    0x01, 0x02, 0x00, 0x2a,
    0x00, 0x00, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    // Data set (id 256), length 76: one IPv4 record of 72 bytes
    0x01, 0x00, 0x00, 0x4c,
    0xc0, 0x00, 0x02, 0x01,                          // 192.0.2.1
    0xc6, 0x33, 0x64, 0x02,                          // 198.51.100.2
    0x06, 0x9c, 0x40, 0x01, 0xbb, 0x10,              // TCP, 40000, 443, ToS 0x10
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,  // ingress 3, egress 0
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // 5 packets
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xd2,  // 1234 octets
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0xfa,  // start 1700000000250 ms
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x6b, 0xe8,  // end 1700000001000 ms
    0x00, 0x1b, 0x03, 0x00, 0x64,                    // flags FSPA, end of flow, VLAN 100
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // MACs
    0x04,                                            // ipVersion 4
};

const std::vector<std::uint8_t> kV9Packet = {
    // Header: version 9, count 5 (2 templates, options template, options record, 1 flow),
    // sysUptime 3000 (boot 1699999999 s, header second 1700000002), unix secs, sequence 0,
    // source id 7
    0x00, 0x09, 0x00, 0x05, 0x00, 0x00, 0x0b, 0xb8, 0x65, 0x53, 0xf1, 0x02,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
    // Template FlowSet (id 0), length 164
    0x00, 0x00, 0x00, 0xa4,
    // template 256, 19 fields: as IPFIX but 22/4 21/4 for the times, 6/1, then 32/2 at the end
    0x01, 0x00, 0x00, 0x13,
    0x00, 0x08, 0x00, 0x04, 0x00, 0x0c, 0x00, 0x04, 0x00, 0x04, 0x00, 0x01, 0x00, 0x07, 0x00, 0x02,
    0x00, 0x0b, 0x00, 0x02, 0x00, 0x05, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x04, 0x00, 0x0e, 0x00, 0x04,
    0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x16, 0x00, 0x04, 0x00, 0x15, 0x00, 0x04,
    0x00, 0x06, 0x00, 0x01, 0x00, 0x88, 0x00, 0x01, 0x00, 0x3a, 0x00, 0x02, 0x00, 0x38, 0x00, 0x06,
    0x00, 0x50, 0x00, 0x06, 0x00, 0x3c, 0x00, 0x01, 0x00, 0x20, 0x00, 0x02,
    // template 257
    0x01, 0x01, 0x00, 0x13,
    0x00, 0x1b, 0x00, 0x10, 0x00, 0x1c, 0x00, 0x10, 0x00, 0x04, 0x00, 0x01, 0x00, 0x07, 0x00, 0x02,
    0x00, 0x0b, 0x00, 0x02, 0x00, 0x05, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x04, 0x00, 0x0e, 0x00, 0x04,
    0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x16, 0x00, 0x04, 0x00, 0x15, 0x00, 0x04,
    0x00, 0x06, 0x00, 0x01, 0x00, 0x88, 0x00, 0x01, 0x00, 0x3a, 0x00, 0x02, 0x00, 0x38, 0x00, 0x06,
    0x00, 0x50, 0x00, 0x06, 0x00, 0x3c, 0x00, 0x01, 0x00, 0x20, 0x00, 0x02,
    // Options template FlowSet (id 1), length 24 (22 + 2 padding): template 258, scope length 4,
    // option length 8: scope System/4, SAMPLING_INTERVAL/4, SAMPLING_ALGORITHM/1
    0x00, 0x01, 0x00, 0x18, 0x01, 0x02, 0x00, 0x04, 0x00, 0x08,
    0x00, 0x01, 0x00, 0x04, 0x00, 0x22, 0x00, 0x04, 0x00, 0x23, 0x00, 0x01, 0x00, 0x00,
    // Options data FlowSet (id 258), length 16 (13 + 3 padding): system 7, interval 1, deterministic
    0x01, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00,
    // Data FlowSet (id 256), length 72 (4 + 65 + 3 padding)
    0x01, 0x00, 0x00, 0x48,
    0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02,
    0x06, 0x9c, 0x40, 0x01, 0xbb, 0x10,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xd2,
    0x00, 0x00, 0x04, 0xe2,                          // FIRST_SWITCHED 1250 ms after boot
    0x00, 0x00, 0x07, 0xd0,                          // LAST_SWITCHED 2000
    0x1b, 0x03, 0x00, 0x64,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x04, 0x00, 0x00,                                // ipVersion 4, ICMP_TYPE 0 (TCP)
    0x00, 0x00, 0x00,                                // padding
};
// clang-format on

using Receiver = spanflow::test::UdpReceiver;

struct Harness {
    explicit Harness(TemplateFormat format, std::size_t max_datagram = 1400,
                     std::uint32_t refresh_datagrams = 20,
                     std::chrono::nanoseconds refresh = std::chrono::seconds(60)) {
        std::string error;
        REQUIRE(transport.open({rx.address}, error));
        spanflow::TemplateExporterConfig c;
        c.format = format;
        c.domain = 7;
        c.max_datagram_bytes = max_datagram;
        c.refresh_datagrams = refresh_datagrams;
        c.refresh_interval = refresh;
        exporter.emplace(transport, c);
        exporter->set_start_time(Timestamp::from_ns(1'700'000'000 * kSec));
        // IPFIX opens with a message of its own: templates and the options record, no flow.
        if (format == TemplateFormat::ipfix) opening = rx.next();
    }
    Receiver rx;
    std::vector<std::uint8_t> opening;
    spanflow::UdpTransport transport;
    std::optional<spanflow::TemplateExporter> exporter;
};

Timestamp at(std::int64_t sec) {
    return Timestamp::from_ns((1'700'000'000 + sec) * kSec);
}

bool has_template_set(const std::vector<std::uint8_t>& d, TemplateFormat format) {
    const std::size_t header = format == TemplateFormat::ipfix ? 16 : 20;
    const std::uint16_t id = format == TemplateFormat::ipfix ? 2 : 0;
    return d.size() > header + 4 && spanflow::load_be16(d.data() + header) == id;
}

}  // namespace

TEST_SUITE("IPFIX and v9 export") {
    TEST_CASE("an IPFIX message with templates, options and one flow, byte for byte") {
        CHECK(encode_one(TemplateFormat::ipfix, Timestamp{}) == kIpfixMessage);
    }

    TEST_CASE("a NetFlow v9 packet with templates, options and one flow, byte for byte") {
        CHECK(encode_one(TemplateFormat::v9, Timestamp::from_ns(1'699'999'999 * kSec)) ==
              kV9Packet);
    }

    TEST_CASE("IPv6 records use template 257 with 16-byte addresses") {
        for (TemplateFormat format : {TemplateFormat::ipfix, TemplateFormat::v9}) {
            spanflow::TemplateMessageWriter writer(format);
            std::vector<std::uint8_t> buf(1400);
            writer.begin(buf, Timestamp{});
            FlowRecord r = example_flow();
            r.key.ip_version = 6;
            r.key.src_addr = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
            REQUIRE(writer.add_record(r));
            REQUIRE(writer.add_record(r));
            buf.resize(writer.finish({}));
            const std::size_t header = format == TemplateFormat::ipfix ? 16 : 20;
            const std::size_t record = format == TemplateFormat::ipfix ? 96 : 89;
            CHECK(spanflow::load_be16(buf.data() + header) == 257);
            const std::size_t set = 4 + 2 * record;
            const std::size_t padded = format == TemplateFormat::v9 ? (set + 3) / 4 * 4 : set;
            CHECK(spanflow::load_be16(buf.data() + header + 2) == padded);
            CHECK(buf.size() == header + padded);
            CHECK(buf[header + 4] == 0x20);
            CHECK(buf[header + 4 + 15] == 0x01);
        }
    }

    TEST_CASE("templates go out at start and again every N datagrams") {
        for (TemplateFormat format : {TemplateFormat::ipfix, TemplateFormat::v9}) {
            Harness h(format, 1400, 3);
            std::vector<bool> with_templates;
            for (int i = 0; i < 7; ++i) {
                h.exporter->add(example_flow(), at(1));
                h.exporter->flush(at(1));
                with_templates.push_back(has_template_set(h.rx.next(), format));
            }
            // IPFIX's opening message carried templates already: it counts as the first of N.
            if (format == TemplateFormat::ipfix) {
                CHECK(has_template_set(h.opening, format));
                CHECK(with_templates ==
                      std::vector<bool>{false, false, true, false, false, true, false});
            } else {
                CHECK(with_templates ==
                      std::vector<bool>{true, false, false, true, false, false, true});
            }
            CHECK(h.exporter->stats().template_sends == 3);
        }
    }

    TEST_CASE("... and every T seconds of the export clock, whichever comes first") {
        Harness h(TemplateFormat::ipfix, 1400, 1000, std::chrono::seconds(10));
        std::vector<bool> with_templates;
        for (std::int64_t t : {1, 5, 10, 11, 20, 21}) {
            h.exporter->add(example_flow(), at(t));
            h.exporter->flush(at(t));
            with_templates.push_back(has_template_set(h.rx.next(), TemplateFormat::ipfix));
        }
        // templates in the opening message at 0; due again at 10, then at 20
        CHECK(with_templates == std::vector<bool>{false, false, true, false, true, false});
    }

    TEST_CASE("IPFIX sequence counts the data records sent before; v9 counts datagrams") {
        for (TemplateFormat format : {TemplateFormat::ipfix, TemplateFormat::v9}) {
            Harness h(format);
            std::vector<std::uint32_t> sequences;
            std::vector<std::uint16_t> v9_counts;
            for (int records : {3, 1, 2}) {
                for (int i = 0; i < records; ++i) h.exporter->add(example_flow(), at(1));
                h.exporter->flush(at(1));
                auto d = h.rx.next();
                REQUIRE(d.size() > 20);
                sequences.push_back(
                    spanflow::load_be32(d.data() + (format == TemplateFormat::ipfix ? 8 : 12)));
                v9_counts.push_back(spanflow::load_be16(d.data() + 2));
            }
            if (format == TemplateFormat::ipfix) {
                // the opening message's options record is data record 0
                CHECK(spanflow::load_be32(h.opening.data() + 8) == 0);
                CHECK(sequences == std::vector<std::uint32_t>{1, 4, 5});
            } else {
                CHECK(sequences == std::vector<std::uint32_t>{0, 1, 2});
                // count = templates (2) + options template + options record + data records
                CHECK(v9_counts == std::vector<std::uint16_t>{7, 1, 2});
            }
        }
    }

    TEST_CASE("datagrams never pass --max-datagram, and every record arrives") {
        for (TemplateFormat format : {TemplateFormat::ipfix, TemplateFormat::v9}) {
            const std::size_t limit =
                spanflow::TemplateMessageWriter(format).min_message_bytes() + 100;
            Harness h(format, limit);
            for (int i = 0; i < 40; ++i) {
                FlowRecord r = example_flow();
                r.key.ip_version = (i % 3 == 0) ? 6 : 4;  // mixed sets
                r.key.src_port = static_cast<std::uint16_t>(i);
                h.exporter->add(r, at(1));
            }
            h.exporter->flush(at(1));
            std::size_t datagrams = 0;
            for (auto d = h.rx.next(); !d.empty(); d = h.rx.next()) {
                ++datagrams;
                CHECK(d.size() <= limit);
                if (format == TemplateFormat::ipfix)
                    CHECK(spanflow::load_be16(d.data() + 2) == d.size());
            }
            CHECK(datagrams + (h.opening.empty() ? 0 : 1) == h.exporter->stats().datagrams);
            CHECK(h.exporter->stats().records == 40);
        }
    }

    TEST_CASE("IPFIX sends its options record at start and, with the totals, at the end") {
        Harness h(TemplateFormat::ipfix);
        // opening: header, template set (156), options template set (38), options data set (42)
        REQUIRE(h.opening.size() == 16 + 156 + 38 + 42);
        CHECK(spanflow::load_be16(h.opening.data() + 16 + 156 + 38) ==
              spanflow::kOptionsTemplateId);
        for (int i = 0; i < 25; ++i) h.exporter->add(example_flow(), at(1));  // 2 messages
        h.exporter->finish(at(2));
        std::vector<std::vector<std::uint8_t>> got;
        for (auto d = h.rx.next(); !d.empty(); d = h.rx.next()) got.push_back(d);
        REQUIRE(got.size() == 3);
        // no options record between flow messages: the second carries none
        CHECK(spanflow::load_be32(got[0].data() + 8) == 1);
        CHECK(spanflow::load_be32(got[1].data() + 8) == 1 + 19);
        const auto& closing = got[2];
        REQUIRE(closing.size() == h.opening.size());
        CHECK(spanflow::load_be32(closing.data() + 8) == 1 + 25);  // sequence
        const std::uint8_t* record = closing.data() + 16 + 156 + 38 + 4;
        // exportedFlowRecordTotalCount 25, exportedMessageTotalCount 3 (opening and two)
        CHECK(spanflow::load_be32(record + 22 + 4) == 25);
        CHECK(spanflow::load_be32(record + 30 + 4) == 3);
    }

    TEST_CASE("over a sweep of datagram limits, spanflow-collect decodes every record exactly") {
        // An independent decoder checks set lengths, padding and header fields of every datagram.
        for (TemplateFormat format : {TemplateFormat::ipfix, TemplateFormat::v9}) {
            const std::size_t min = spanflow::TemplateMessageWriter(format).min_message_bytes();
            for (std::size_t limit = min; limit <= min + 200; limit += 7) {
                Harness h(format, limit);
                spanflow::collector::DatagramDecoder decoder;
                const auto from = *spanflow::collector::parse_endpoint("127.0.0.1:40000");
                std::vector<std::uint16_t> ports;
                for (std::uint16_t i = 0; i < 30; ++i) {
                    FlowRecord r = example_flow();
                    r.key.ip_version = (i % 4 == 1) ? 6 : 4;
                    r.key.src_port = i;
                    h.exporter->add(r, at(1));
                }
                h.exporter->finish(at(1));
                std::vector<std::vector<std::uint8_t>> datagrams;
                if (!h.opening.empty()) datagrams.push_back(h.opening);
                for (auto d = h.rx.next(); !d.empty(); d = h.rx.next()) datagrams.push_back(d);
                std::uint32_t expected_sequence = 0;
                for (const auto& d : datagrams) {
                    CHECK(d.size() <= limit);
                    spanflow::collector::DatagramHeader header;
                    spanflow::collector::DecodedFlows flows;
                    REQUIRE(decoder.decode(d, from,
                                           spanflow::collector::DatagramDecoder::Clock::now(),
                                           header, flows) == spanflow::collector::DecodeStatus::ok);
                    CHECK(header.sequence == expected_sequence);
                    expected_sequence += header.sequence_increment;
                    for (const FlowRecord& r : flows.records) ports.push_back(r.key.src_port);
                }
                std::sort(ports.begin(), ports.end());
                REQUIRE(ports.size() == 30);
                for (std::uint16_t i = 0; i < 30; ++i) CHECK(ports[i] == i);
            }
        }
    }

    TEST_CASE("a --max-datagram below what one message needs is raised to it") {
        Harness h(TemplateFormat::v9, 100);
        h.exporter->add(example_flow(), at(1));
        h.exporter->flush(at(1));
        CHECK(h.rx.next().size() == kV9Packet.size());
    }

    TEST_CASE("v9 times survive a replay that jumps back years: sysUptime origin moves") {
        Harness h(TemplateFormat::v9);
        FlowRecord old = example_flow();
        old.first = Timestamp::from_ns(1'500'000'000 * kSec + 7 * kMs);
        old.last = old.first;
        h.exporter->add(old, at(100));
        h.exporter->add(example_flow(), at(100));
        h.exporter->flush(at(100));
        CHECK(h.exporter->stats().uptime_rebased >= 1);
        std::vector<std::int64_t> starts;
        for (auto d = h.rx.next(); !d.empty(); d = h.rx.next()) {
            const std::int64_t boot_ms = std::int64_t{spanflow::load_be32(d.data() + 8)} * 1000 -
                                         spanflow::load_be32(d.data() + 4);
            // the IPv4 data FlowSet follows the templates and options; FIRST_SWITCHED is at offset
            // 38 of its record
            std::size_t off = 20;
            while (spanflow::load_be16(d.data() + off) != spanflow::kIpv4TemplateId)
                off += spanflow::load_be16(d.data() + off + 2);
            starts.push_back(boot_ms + spanflow::load_be32(d.data() + off + 4 + 38));
        }
        REQUIRE(starts.size() == 2);
        CHECK(starts[0] == old.first.ms());
        CHECK(starts[1] == example_flow().first.ms());
    }
}
