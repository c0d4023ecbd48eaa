// spanflow-collect's decoding of NetFlow v5, v9 and IPFIX datagrams, with its template state
// carried from one datagram to the next: within an input, which is a run of datagrams, and across
// inputs, as a collector's state lives across datagrams (one collector for the whole fuzzing run;
// a fresh one every 4096 inputs so its caches do not only ever fill up).
//
// An input is chunks of [exporter byte][length, 2 bytes big-endian][datagram]; the exporter byte
// picks one of four exporters (two IPv4, two IPv6) and moves the collector's clock on, so held
// sets time out. A last chunk shorter than its length is the rest of the input. Each datagram is
// decoded and written as JSON or as a table; no crash, and the output is whole lines.
#include <chrono>
#include <memory>
#include <string>

#include "export/collector/collector.hpp"
#include "fuzz_input.hpp"

using spanflow::collector::Collector;
using spanflow::collector::Endpoint;
using spanflow::fuzz::require;

namespace {
std::unique_ptr<Collector> g_json;
std::unique_ptr<Collector> g_table;
std::uint64_t g_inputs = 0;
Collector::Clock::time_point g_now{};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (g_inputs++ % 4096 == 0) {
        g_json = std::make_unique<Collector>(spanflow::collector::OutputFormat::json);
        g_table = std::make_unique<Collector>(spanflow::collector::OutputFormat::table);
    }
    std::string out;
    std::size_t at = 0;
    while (at < size) {
        const std::uint8_t who = data[at++];
        std::size_t length = size - at;
        if (size - at >= 2) {
            length = std::min<std::size_t>(size - at - 2, std::size_t{data[at]} << 8 | data[at + 1]);
            at += 2;
        }
        Endpoint exporter;
        exporter.ip_version = (who & 2) != 0 ? 6 : 4;
        exporter.addr[0] = 192;
        exporter.addr[3] = static_cast<std::uint8_t>(1 + (who & 1));
        exporter.port = 2055;
        g_now += std::chrono::seconds(who >> 4);  // up to 15 s a datagram
        const std::span<const std::uint8_t> datagram(data + at, length);
        Collector& collector = (who & 4) != 0 ? *g_table : *g_json;
        (void)collector.on_datagram(datagram, exporter, out, g_now);
        collector.expire(g_now);
        require(out.empty() || out.back() == '\n', "output that is not whole lines");
        out.clear();
        at += length;
    }
    return 0;
}
