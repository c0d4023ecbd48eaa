// Encoder rate: IPv4 flow records into 1400-byte IPFIX and NetFlow v9 messages with
// TemplateMessageWriter (begin, add_record until the message is full, finish), as the exporter
// thread does between two datagrams; no socket.
#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "export/template_encoder.hpp"

namespace {

using namespace spanflow;

void BM_Encode(benchmark::State& state) {
    const auto format = state.range(0) == 10 ? TemplateFormat::ipfix : TemplateFormat::v9;
    std::vector<FlowRecord> records(1024);
    for (std::size_t i = 0; i < records.size(); ++i) {
        FlowRecord& r = records[i];
        r.key.ip_version = 4;
        r.key.src_addr = {10, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
        r.key.dst_addr = {192, 168, 0, 1};
        r.key.protocol = 6;
        r.key.src_port = static_cast<std::uint16_t>(1024 + i);
        r.key.dst_port = 443;
        r.packets = 10 + i;
        r.bytes = 1000 + i * 64;
        r.first = Timestamp::from_ns(1'700'000'000'000'000'000);
        r.last = r.first + std::chrono::milliseconds(i);
        r.tcp_flags = 0x1A;
        r.end_reason = FlowEndReason::idle;
    }
    std::array<std::uint8_t, 1400> datagram{};
    TemplateMessageWriter writer(format);
    const Timestamp boot = records[0].first;
    std::size_t next = 0;
    std::uint64_t encoded = 0;
    std::uint32_t sequence = 0;
    for (auto _ : state) {
        writer.begin(datagram, boot);
        while (writer.add_record(records[next])) {
            next = (next + 1) & (records.size() - 1);
        }
        encoded += writer.flow_records();
        MessageHeader header{records[0].last, sequence, 0};
        sequence += static_cast<std::uint32_t>(writer.flow_records());
        benchmark::DoNotOptimize(writer.finish(header));
        benchmark::ClobberMemory();
    }
    state.counters["Mrecords"] =
        benchmark::Counter(static_cast<double>(encoded) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Encode)->ArgName("version")->Arg(10)->Arg(9);

}  // namespace
