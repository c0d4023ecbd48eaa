#include "probe/app/replay.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <system_error>
#include <thread>

#include "capture/pcap_file_source.hpp"
#include "export/export_path.hpp"
#include "export/json_lines_writer.hpp"
#include "probe/app/export_sink.hpp"
#include "probe/app/pipeline.hpp"
#include "probe/app/stats_report.hpp"
#include "probe/decode/decoder.hpp"

namespace spanflow {
namespace {

void error_line(const std::string& text) {
    fmt::print(stderr, "spanflow: {}\n", text);
}

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// The machine's physical memory in GiB, or 0 when the system does not say.
double physical_memory_gib() {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0) return 0;
    return static_cast<double>(pages) * static_cast<double>(page_size) / kGiB;
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

    PipelineConfig pipeline_config;
    pipeline_config.workers = config.workers;
    pipeline_config.ring_slots = config.ring_slots;
    pipeline_config.shard.max_flows = config.max_flows;
    pipeline_config.shard.timeouts = config.timeouts;
    if (exporter) {
        pipeline_config.shard.max_packets = pipeline_config.shard.max_bytes =
            ExportPath::max_counter(config.exporting.version);
    }
    ExportSink sink(json ? &*json : nullptr, exporter ? &*exporter : nullptr);
    // A cache or rings larger than the machine's memory are refused now, not found out by the
    // kernel's OOM killer once the table fills.
    const double tables = static_cast<double>(Pipeline::table_bytes(pipeline_config)) / kGiB;
    const double rings = static_cast<double>(Pipeline::ring_bytes(pipeline_config)) / kGiB;
    const std::string sizes = fmt::format(
        "--max-flows {} with --workers {} and --ring-size {} need {:.1f} GiB (flow tables {:.1f}, "
        "rings {:.1f})",
        config.max_flows, config.workers, config.ring_slots, tables + rings, tables, rings);
    const double memory = physical_memory_gib();
    if (memory > 0 && tables + rings > memory) {
        error_line(fmt::format("{}: more than this machine's {:.1f} GiB of memory", sizes, memory));
        return 2;
    }
    std::unique_ptr<Pipeline> pipeline;
    try {
        pipeline = std::make_unique<Pipeline>(pipeline_config, sink);
    } catch (const std::bad_alloc&) {
        error_line(sizes + ": cannot allocate that much");
        return 2;
    }

    // The capture thread reads and decodes the file and routes packets to the workers; this
    // thread only waits for it and the pipeline, then reports.
    Decoder decoder(source->link_type());
    ReadStatus status = ReadStatus::ok;
    try {
        pipeline->start();
    } catch (const std::system_error& e) {
        error_line(e.what());
        return 1;
    }
    std::thread capture;
    try {
        capture = std::thread([&] {
            name_this_thread("sf-capture");
            PacketClock clock;
            PacketBatch batch;
            PacketMeta metas[kBatchSize];
            while (status == ReadStatus::ok && !stop.load(std::memory_order_relaxed)) {
                status = source->next_batch(batch);
                std::size_t n = decoder.decode_batch(batch, clock, metas);
                pipeline->dispatch(metas, n, clock);
            }
            pipeline->finish(clock);
        });
    } catch (const std::system_error& e) {
        pipeline->finish(PacketClock{});
        pipeline->join();
        error_line(std::string("cannot start thread sf-capture: ") + e.code().message());
        return 1;
    }
    capture.join();
    pipeline->join();

    int exit_status = 0;
    std::string json_error;
    if (json && !json->flush(json_error)) {
        error_line(json_error);
        exit_status = 1;
    }

    ReportInputs report{config,
                        *source,
                        decoder.stats(),
                        pipeline->flow_stats(),
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
