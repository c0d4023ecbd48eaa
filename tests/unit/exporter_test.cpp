#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "export/v5_exporter.hpp"
#include "probe/core/byte_order.hpp"
#include "tests/unit/udp_receiver.hpp"

using spanflow::FlowRecord;
using spanflow::Timestamp;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

using Receiver = spanflow::test::UdpReceiver;

FlowRecord flow(std::int64_t first_sec, std::uint8_t version = 4) {
    FlowRecord r;
    r.key.ip_version = version;
    r.key.src_addr = {10, 0, 0, 1};
    r.packets = 1;
    r.bytes = 60;
    r.first = r.last = Timestamp::from_ns(first_sec * kSec);
    return r;
}

std::uint32_t be32_at(const std::vector<std::uint8_t>& d, std::size_t off) {
    return spanflow::load_be32(d.data() + off);
}

}  // namespace

TEST_SUITE("v5 exporter") {
    TEST_CASE("records go out 30 to a datagram, numbered by the flows sent before") {
        Receiver rx;
        spanflow::UdpTransport transport;
        std::string error;
        REQUIRE(transport.open({rx.address}, error));
        spanflow::V5Exporter exporter(transport, 0, 9, 1500);  // room for the format's 30
        const Timestamp start = Timestamp::from_ns(1'000 * kSec + 500'000'000);
        exporter.set_boot_time(start);
        for (int i = 0; i < 31; ++i) exporter.add(flow(1'001), start);
        exporter.add(flow(1'001, 6), start);  // v5 cannot carry IPv6
        exporter.flush(start);

        auto first = rx.next();
        auto second = rx.next();
        REQUIRE(first.size() == 24 + 30 * 48);
        REQUIRE(second.size() == 24 + 48);
        CHECK(be32_at(first, 16) == 0);
        CHECK(be32_at(second, 16) == 30);
        CHECK(second[21] == 9);
        // boot is the whole second of the start: the flow began 1000 ms after it
        CHECK(be32_at(second, 24 + 24) == 1000);
        CHECK(exporter.stats().records == 31);
        CHECK(exporter.stats().datagrams == 2);
        CHECK(exporter.stats().ipv6_skipped == 1);
        CHECK(transport.collectors()[0].datagrams_sent == 2);
    }

    TEST_CASE("datagrams stay within the configured size: 28 records in 1400 bytes") {
        CHECK(spanflow::V5Exporter::records_per_datagram(1400) == 28);
        CHECK(spanflow::V5Exporter::records_per_datagram(1464) == 30);
        CHECK(spanflow::V5Exporter::records_per_datagram(9000) == 30);
        CHECK(spanflow::V5Exporter::records_per_datagram(72) == 1);
        Receiver rx;
        spanflow::UdpTransport transport;
        std::string error;
        REQUIRE(transport.open({rx.address}, error));
        spanflow::V5Exporter exporter(transport, 0, 0, 1400);
        for (int i = 0; i < 29; ++i) exporter.add(flow(1'001), Timestamp::from_ns(1'001 * kSec));
        CHECK(rx.next().size() == 24 + 28 * 48);
    }

    TEST_CASE("a partial datagram waits at most a second of export time") {
        Receiver rx;
        spanflow::UdpTransport transport;
        std::string error;
        REQUIRE(transport.open({rx.address}, error));
        spanflow::V5Exporter exporter(transport, 0, 0, 1400);
        exporter.set_boot_time(Timestamp::from_ns(100 * kSec));
        exporter.add(flow(100), Timestamp::from_ns(100 * kSec));
        exporter.poll(Timestamp::from_ns(100 * kSec + 999'000'000));
        CHECK(exporter.stats().datagrams == 0);
        exporter.poll(Timestamp::from_ns(101 * kSec));
        CHECK(exporter.stats().datagrams == 1);
        CHECK(rx.next().size() == 24 + 48);
    }

    TEST_CASE("flows before the boot time or 49 days apart move sysUptime's origin, exactly") {
        Receiver rx;
        spanflow::UdpTransport transport;
        std::string error;
        REQUIRE(transport.open({rx.address}, error));
        spanflow::V5Exporter exporter(transport, 0, 0, 1400);
        const std::int64_t boot = 1'600'000'000;
        exporter.set_boot_time(Timestamp::from_ns(boot * kSec));
        const std::int64_t years_later = boot + 10 * 365 * 86'400;
        exporter.add(flow(boot - 5), Timestamp::from_ns(years_later * kSec));
        exporter.add(flow(years_later), Timestamp::from_ns(years_later * kSec));  // splits
        exporter.flush(Timestamp::from_ns(years_later * kSec));
        CHECK(exporter.stats().datagrams == 2);
        CHECK(exporter.stats().uptime_rebased == 2);
        for (int i = 0; i < 2; ++i) {
            auto d = rx.next();
            REQUIRE(d.size() == 24 + 48);
            // absolute time = unix_secs * 1000 - sysUptime + First: the flow's own start
            std::int64_t start_ms =
                std::int64_t{be32_at(d, 8)} * 1000 - be32_at(d, 4) + be32_at(d, 24 + 24);
            CHECK(start_ms == (i == 0 ? boot - 5 : years_later) * 1000);
        }
    }

    TEST_CASE("a collector that is not listening costs no stall") {
        spanflow::SocketAddress closed_port;
        {
            Receiver gone;
            closed_port = gone.address;
        }  // the port is closed now
        spanflow::UdpTransport transport;
        std::string error;
        REQUIRE(transport.open({closed_port}, error));
        std::vector<std::uint8_t> datagram(100, 0);
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 1000; ++i) transport.send(datagram);
        auto elapsed = std::chrono::steady_clock::now() - t0;
        CHECK(elapsed < std::chrono::seconds(5));
        const auto& s = transport.collectors()[0];
        CHECK(s.datagrams_sent + s.send_errors == 1000);
    }
}
