#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "export/netflow_v5_encoder.hpp"

using spanflow::FlowRecord;
using spanflow::Timestamp;

namespace {
constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kBootSec = 1'700'000'000;

FlowRecord tcp_flow() {
    FlowRecord r;
    r.key.ip_version = 4;
    r.key.src_addr = {192, 0, 2, 1};
    r.key.dst_addr = {198, 51, 100, 2};
    r.key.ifindex = 3;
    r.key.src_port = 1234;
    r.key.dst_port = 80;
    r.key.protocol = 6;
    r.key.tos = 0xB8;
    r.packets = 10;
    r.bytes = 1500;
    r.tcp_flags = 0x1B;
    r.first = Timestamp::from_ns((kBootSec * 1000 + 10'500) * kMs);
    r.last = Timestamp::from_ns((kBootSec * 1000 + 20'123) * kMs + 999'999);  // ms are floored
    return r;
}

FlowRecord icmp_flow() {
    FlowRecord r;
    r.key.ip_version = 4;
    r.key.src_addr = {10, 0, 0, 1};
    r.key.dst_addr = {10, 0, 0, 2};
    r.key.dst_port = 8 * 256;  // echo request
    r.key.protocol = 1;
    r.packets = 1;
    r.bytes = 84;
    r.first = r.last = Timestamp::from_ns((kBootSec * 1000 + 50'000) * kMs);
    return r;
}
}  // namespace

TEST_SUITE("v5 encoder") {
    TEST_CASE("a two-record datagram matches the v5 format byte for byte") {
        spanflow::V5Header h;
        h.boot_time = Timestamp::from_ns(kBootSec * 1'000'000'000);
        h.export_time = Timestamp::from_ns((kBootSec + 100) * 1'000'000'000 + 250 * kMs);
        h.flow_sequence = 42;
        h.engine_type = 1;
        h.engine_id = 7;
        std::array<FlowRecord, 2> records{tcp_flow(), icmp_flow()};
        std::array<std::uint8_t, 200> out{};

        // Written from Cisco's v5 layout, not from the encoder. The header's time is the export
        // time rounded up to a whole second (1700000101 s), so sysUptime = 101000 ms.
        // One row per field group, as the format lays the bytes out.
        // clang-format off
        const std::vector<std::uint8_t> expected = {
            // header: version 5, count 2, sysUptime 101000, unix_secs 1700000101, unix_nsecs 0,
            // flow_sequence 42, engine_type 1, engine_id 7, sampling_interval 0
            0x00, 0x05, 0x00, 0x02, 0x00, 0x01, 0x8A, 0x88, 0x65, 0x53, 0xF1, 0x65,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A, 0x01, 0x07, 0x00, 0x00,
            // record 1: 192.0.2.1 -> 198.51.100.2, nexthop 0, input 3, output 0
            0xC0, 0x00, 0x02, 0x01, 0xC6, 0x33, 0x64, 0x02, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x03, 0x00, 0x00,
            // dPkts 10, dOctets 1500, First 10500, Last 20123
            0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x05, 0xDC, 0x00, 0x00, 0x29, 0x04,
            0x00, 0x00, 0x4E, 0x9B,
            // ports 1234 -> 80, pad, flags 0x1B, protocol 6, tos 0xB8, AS 0/0, masks 0/0, pad
            0x04, 0xD2, 0x00, 0x50, 0x00, 0x1B, 0x06, 0xB8, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
            // record 2: 10.0.0.1 -> 10.0.0.2, ICMP echo request as destination port 0x0800
            0x0A, 0x00, 0x00, 0x01, 0x0A, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x54,
            0x00, 0x00, 0xC3, 0x50, 0x00, 0x00, 0xC3, 0x50, 0x00, 0x00, 0x08, 0x00,
            0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        };
        // clang-format on
        std::size_t n = spanflow::encode_v5(h, records, out);
        REQUIRE(n == 24 + 2 * 48);
        CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<long>(n)) ==
              expected);
    }

    TEST_CASE("at most 30 records go in one datagram") {
        spanflow::V5Header h;
        std::vector<FlowRecord> records(31, tcp_flow());
        std::vector<std::uint8_t> out(2000);
        CHECK(spanflow::encode_v5(h, records, out) == 24 + 30 * 48);
        CHECK(out[3] == 30);
    }

    TEST_CASE("a buffer too small or no records give an empty datagram") {
        spanflow::V5Header h;
        std::array<FlowRecord, 1> one{tcp_flow()};
        std::array<std::uint8_t, 60> small{};
        CHECK(spanflow::encode_v5(h, one, small) == 0);
        CHECK(spanflow::encode_v5(h, {}, std::span<std::uint8_t>(small)) == 0);
    }
}
