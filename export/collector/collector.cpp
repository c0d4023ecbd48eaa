#include "export/collector/collector.hpp"

#include <fmt/format.h>

#include "probe/core/flow_json.hpp"

namespace spanflow::collector {

DecodeStatus Collector::on_datagram(std::span<const std::uint8_t> datagram,
                                    const Endpoint& exporter, std::string& out,
                                    Clock::time_point now) {
    ++stats_.datagrams;
    DatagramHeader header;
    flows_.clear();
    const DecodeStatus status = decoder_.decode(datagram, exporter, now, header, flows_);
    ++stats_.by_status[static_cast<std::size_t>(status)];

    if (header.version != 0) {
        (void)sequences_.observe(ExporterKey{exporter, header.version, header.domain},
                                 header.sequence, header.sequence_increment,
                                 header.increment_unknown);
    }
    for (std::size_t i = 0; i < flows_.size(); ++i) {
        if (format_ == OutputFormat::table) {
            append_flow_row(out, flows_.records[i]);
        } else {
            append_flow_json(out, flows_.records[i], flows_.extras(i));
        }
    }
    stats_.records += flows_.size();
    return status;
}

std::string format_summary(const CollectorStats& stats, const SequenceTracker& sequences,
                           std::optional<std::uint64_t> kernel_drops) {
    std::string out = fmt::format("{} datagrams, {} records, {} malformed", stats.datagrams,
                                  stats.records, stats.malformed());
    auto it = std::back_inserter(out);
    const char* separator = " (";
    for (int i = 1; i < kDecodeStatusCount; ++i) {
        const std::uint64_t n = stats.by_status[static_cast<std::size_t>(i)];
        if (n == 0) continue;
        fmt::format_to(it, "{}{} {}", separator, n,
                       decode_status_name(static_cast<DecodeStatus>(i)));
        separator = ", ";
    }
    if (stats.malformed() != 0) out += ')';
    const TemplateCounters& t = stats.templates;
    if (t.option_records != 0) fmt::format_to(it, ", {} option records", t.option_records);
    if (t.held_sets != 0)
        fmt::format_to(it, ", {} sets held for a template ({} released)", t.held_sets,
                       t.released_sets);
    if (const std::uint64_t dropped = t.dropped_without_template(); dropped != 0)
        fmt::format_to(it, ", {} sets dropped without template", dropped);
    if (t.refused_templates != 0)
        fmt::format_to(it, ", {} templates refused (cache full)", t.refused_templates);
    if (sequences.untracked() != 0)
        fmt::format_to(it, ", {} datagrams from untracked exporters (too many)",
                       sequences.untracked());
    fmt::format_to(it, ", {} lost records, {} out of order", sequences.lost_records(),
                   sequences.out_of_order());
    if (kernel_drops) fmt::format_to(it, ", {} kernel drops", *kernel_drops);
    return out;
}

std::vector<std::string> format_exporter_problems(const SequenceTracker& sequences) {
    std::vector<std::string> lines;
    for (const auto& [key, state] : sequences.exporters()) {
        const ExporterCounters& c = state.counters;
        if (c.lost_records == 0 && c.out_of_order == 0) continue;
        // Each format counts its sequence in its own unit: v9 numbers datagrams.
        const char* unit = key.version == 9 ? "datagrams" : "records";
        lines.push_back(fmt::format("exporter {}: {} datagrams, {} lost {}, {} out of order",
                                    format_exporter(key), c.datagrams, c.lost_records, unit,
                                    c.out_of_order));
    }
    return lines;
}

}  // namespace spanflow::collector
