#include "probe/app/stats_report.hpp"

#include <fmt/format.h>

#include "export/export_path.hpp"

namespace spanflow {

void print_report(std::FILE* out, const ReportInputs& in) {
    const DecodeStats& d = in.decode;
    const FlowShardStats& f = in.flows;
    auto line = [out](int indent, std::string_view label, std::uint64_t value) {
        fmt::print(out, "{:{}}{:<{}} {:>12}\n", "", indent, label, 40 - indent, value);
    };

    fmt::print(out, "spanflow: replay of {} ({})\n", in.config.read_path,
               link_type_name(in.source.link_type()));
    line(2, "flow workers", in.config.workers);
    line(2, "packets read", in.source.packets_read());
    if (in.source.packets_bad_time() != 0)
        line(4, "skipped, timestamp out of range", in.source.packets_bad_time());
    line(4, "decoded into flows", d.decoded);
    line(4, "rejected", d.rejected_total());
    for (std::size_t r = 1; r < kDecodeReasonCount; ++r) {
        if (d.rejected[r] != 0)
            line(6, decode_reason_name(static_cast<DecodeReason>(r)), d.rejected[r]);
    }
    line(2, "layer-3 bytes in flows", f.bytes);
    line(2, "flows created", f.flows_created);
    std::uint64_t ended = 0;
    for (auto n : f.flows_ended) ended += n;
    line(2, "flows ended", ended);
    for (int r = 1; r < kFlowEndReasonCount; ++r) {
        auto reason = static_cast<FlowEndReason>(r);
        std::uint64_t n = f.flows_ended[static_cast<std::size_t>(r)];
        if (reason == FlowEndReason::lack_of_resources) {
            line(4, "evicted, table full (--max-flows)", f.evicted_table_full);
            line(4, "split, counter would overflow", n - f.evicted_table_full);
        } else {
            line(4, end_reason_name(reason), n);
        }
    }
    if (const ExportStats* e = in.exported; e != nullptr) {
        const int version = in.config.exporting.version;
        line(2, fmt::format("{} records exported", ExportPath::format_name(version)), e->records);
        line(4, "datagrams", e->datagrams);
        if (version == 5) line(4, "IPv6 flows skipped (v5 is IPv4 only)", e->ipv6_skipped);
        if (version != 5) line(4, "datagrams carrying templates", e->template_sends);
        if (e->uptime_rebased != 0)
            line(4, "sysUptime origin moved (capture spans >49 days)", e->uptime_rebased);
        for (const CollectorStats& c : in.transport.collectors()) {
            fmt::print(out, "    collector {}: {} datagrams sent, {} send errors{}{}\n",
                       c.address.to_string(), c.datagrams_sent, c.send_errors,
                       c.send_errors ? " (" + c.last_error + ")" : std::string(),
                       c.refused ? fmt::format(", {} refused (port unreachable: collector down?)",
                                               c.refused)
                                 : std::string());
        }
    }
    if (!in.config.write_path.empty()) {
        line(2, "JSON records written", in.json_records);
    }
}

}  // namespace spanflow
