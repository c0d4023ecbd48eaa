#include "probe/app/replay.hpp"

#include <fmt/format.h>

#include <limits>
#include <memory>
#include <new>
#include <optional>

#include "capture/pcap_file_source.hpp"
#include "export/export_path.hpp"
#include "export/json_lines_writer.hpp"
#include "probe/app/stats_report.hpp"
#include "probe/decode/decoder.hpp"
#include "probe/flow/flow_shard.hpp"

namespace spanflow {
namespace {

// Flows the sweep may end per batch: twice the batch size, so expiry always outpaces the at
// most one new flow per packet, while one batch's work stays bounded.
constexpr std::size_t kSweepBudget = 2 * kBatchSize;

void error_line(const std::string& text) {
    fmt::print(stderr, "spanflow: {}\n", text);
}

}  // namespace

int run_replay(const ProbeConfig& config, const std::atomic<bool>& stop) {
    std::string error;
    auto source = PcapFileSource::open(config.read_path, config.ifindex, error);
    if (!source) {
        error_line(config.read_path + ": " + error);
        return 2;
    }

    std::optional<JsonLinesWriter> json;
    if (!config.write_path.empty()) {
        json.emplace();
        if (!json->open(config.write_path, error)) {
            error_line(error);
            return 2;
        }
    }
    UdpTransport transport;
    if (!transport.open(config.collectors, error)) {
        error_line(error);
        return 2;
    }
    std::optional<ExportPath> exporter;
    if (!config.collectors.empty()) exporter.emplace(transport, config.exporting);

    FlowShardConfig shard_config;
    shard_config.max_flows = config.max_flows;
    shard_config.timeouts = config.timeouts;
    if (exporter) {
        shard_config.max_packets = shard_config.max_bytes =
            ExportPath::max_counter(config.exporting.version);
    }
    std::unique_ptr<FlowShard> shard;
    try {
        shard = std::make_unique<FlowShard>(shard_config);
    } catch (const std::bad_alloc&) {
        error_line(
            fmt::format("--max-flows {}: cannot allocate a table that large", config.max_flows));
        return 2;
    }

    Decoder decoder(source->link_type());
    PacketClock clock;
    PacketBatch batch;
    PacketMeta metas[kBatchSize];
    auto emit = [&](const FlowRecord& r) {
        if (json) json->write(r);
        if (exporter) exporter->add(r, clock.now());
    };

    ReadStatus status = ReadStatus::ok;
    while (status == ReadStatus::ok && !stop.load(std::memory_order_relaxed)) {
        status = source->next_batch(batch);
        bool first_batch = !clock.started();
        std::size_t n = decoder.decode_batch(batch, clock, metas);
        if (first_batch && clock.started() && exporter) exporter->set_start_time(clock.start());
        shard->update(metas, n, emit);
        shard->sweep(clock.now(), kSweepBudget, emit);
        if (exporter) exporter->poll(clock.now());
    }
    // Flows that had already timed out by the last packet end with their own reason; the rest
    // are forced out (reason 4).
    shard->sweep(clock.now(), std::numeric_limits<std::size_t>::max(), emit);
    shard->expire_all(FlowEndReason::forced, emit);
    if (exporter) exporter->finish(clock.now());

    int exit_status = 0;
    std::string json_error;
    if (json && !json->flush(json_error)) {
        error_line(json_error);
        exit_status = 1;
    }

    ReportInputs report{config,
                        *source,
                        decoder.stats(),
                        shard->stats(),
                        exporter ? &exporter->stats() : nullptr,
                        transport,
                        json ? json->records() : 0};
    print_report(stderr, report);
    if (status == ReadStatus::error) {
        error_line(config.read_path + ": " + source->error());
        exit_status = 1;
    }
    return exit_status;
}

}  // namespace spanflow
