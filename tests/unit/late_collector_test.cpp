// A collector started after the probe, or restarted, decodes data again within one template
// refresh interval: the probe's real exporter sends over loopback, and spanflow-collect's real
// Collector sees only the datagrams from some point on.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "export/collector/collector.hpp"
#include "export/template_exporter.hpp"
#include "tests/unit/udp_receiver.hpp"

using spanflow::FlowRecord;
using spanflow::TemplateFormat;
using spanflow::Timestamp;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

// Sends one datagram of two flows at each of `times` (seconds) and returns them as received,
// after IPFIX's opening message.
std::vector<std::vector<std::uint8_t>> export_datagrams(TemplateFormat format,
                                                        std::uint32_t refresh_datagrams,
                                                        std::chrono::seconds refresh_interval,
                                                        const std::vector<std::int64_t>& times) {
    spanflow::test::UdpReceiver rx;
    spanflow::UdpTransport transport;
    std::string error;
    REQUIRE(transport.open({rx.address}, error));
    spanflow::TemplateExporterConfig c;
    c.format = format;
    c.refresh_datagrams = refresh_datagrams;
    c.refresh_interval = refresh_interval;
    spanflow::TemplateExporter exporter(transport, c);
    exporter.set_start_time(Timestamp::from_ns(1'700'000'000 * kSec));
    std::vector<std::vector<std::uint8_t>> datagrams;
    // IPFIX opens with templates and the options record, before any flow.
    if (format == TemplateFormat::ipfix) datagrams.push_back(rx.next());
    for (std::int64_t t : times) {
        const Timestamp now = Timestamp::from_ns((1'700'000'000 + t) * kSec);
        for (std::uint8_t i = 0; i < 2; ++i) {
            FlowRecord r;
            r.key.ip_version = 4;
            r.key.src_addr = {10, 0, 0, 1};
            r.key.src_port = static_cast<std::uint16_t>(t * 2 + i);
            r.key.protocol = 17;
            r.packets = 1;
            r.bytes = 100;
            r.first = r.last = now;
            exporter.add(r, now);
        }
        exporter.flush(now);
        datagrams.push_back(rx.next());
        REQUIRE(!datagrams.back().empty());
    }
    return datagrams;
}

// Feeds datagrams [from, end) to a new collector; returns the flows written after each one.
std::vector<std::uint64_t> collect_from(const std::vector<std::vector<std::uint8_t>>& datagrams,
                                        std::size_t from) {
    spanflow::collector::Collector collector;
    const auto exporter = *spanflow::collector::parse_endpoint("127.0.0.1:40000");
    std::vector<std::uint64_t> records;
    std::string out;
    for (std::size_t i = from; i < datagrams.size(); ++i) {
        (void)collector.on_datagram(datagrams[i], exporter, out,
                                    spanflow::collector::Collector::Clock::now());
        records.push_back(collector.stats().records);
    }
    return records;
}

}  // namespace

TEST_SUITE("collector started late") {
    TEST_CASE("v9: decodes from the next refresh by count; earlier data is dropped, counted") {
        // templates in datagrams 0, 5, 10; the collector starts at datagram 2
        auto datagrams = export_datagrams(TemplateFormat::v9, 5, std::chrono::seconds(60),
                                          {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
        CHECK(collect_from(datagrams, 2) ==
              std::vector<std::uint64_t>{0, 0, 0, 2, 4, 6, 8, 10, 12});
    }

    TEST_CASE("v9: ... and from the next refresh by time") {
        // one refresh per 10 s of export time: templates at t=0 and t=12 (datagram 4)
        auto datagrams = export_datagrams(TemplateFormat::v9, 1000, std::chrono::seconds(10),
                                          {0, 3, 6, 9, 12, 15});
        CHECK(collect_from(datagrams, 1) == std::vector<std::uint64_t>{0, 0, 0, 2, 4});
    }

    TEST_CASE("IPFIX: data before the refresh is held, then decoded with it") {
        auto datagrams = export_datagrams(TemplateFormat::ipfix, 5, std::chrono::seconds(60),
                                          {1, 2, 3, 4, 5, 6, 7});
        // templates in the opening (0) and datagram 5; datagrams 3-4 wait for them there
        CHECK(collect_from(datagrams, 3) == std::vector<std::uint64_t>{0, 0, 6, 8, 10});
    }

    TEST_CASE("a restarted collector is a late one: the same holds after a restart") {
        auto datagrams = export_datagrams(TemplateFormat::ipfix, 3, std::chrono::seconds(60),
                                          {1, 2, 3, 4, 5, 6, 7});
        CHECK(collect_from(datagrams, 0).back() == 14);  // the first collector saw everything
        // templates in datagrams 0, 3 and 6: restarted before 5, it decodes again at 6
        CHECK(collect_from(datagrams, 5) == std::vector<std::uint64_t>{0, 4, 6});
    }
}
