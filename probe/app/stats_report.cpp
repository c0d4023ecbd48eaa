#include "probe/app/stats_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "export/export_path.hpp"
#include "probe/core/error_text.hpp"

namespace spanflow {

void print_report(std::FILE* out, const ReportInputs& in) {
    auto line = [out](int indent, std::string_view label, std::uint64_t value) {
        fmt::print(out, "{:{}}{:<{}} {:>12}\n", "", indent, label, 40 - indent, value);
    };
    const auto& cells = in.board.captures();
    const bool live = in.config.is_live();
    std::string header;
    for (const CaptureCell& c : cells) {
        if (!header.empty()) header += ", ";
        header +=
            live ? fmt::format("{} (ifIndex {}, {})", c.name, c.ifindex, link_type_name(c.link))
                 : fmt::format("{} ({})", c.name, link_type_name(c.link));
    }
    fmt::print(out, "spanflow: {} {}{}\n", live ? "live capture on" : "replay of", header,
               in.running ? fmt::format(" (running {:.1f} s)", in.elapsed_seconds) : "");
    line(2, "flow workers", in.pipeline.workers());

    DecodeStats d;
    std::uint64_t own = 0;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const CaptureLoopStats s = cells[i].stats.read();
        d.packets += s.decode.packets;
        d.decoded += s.decode.decoded;
        for (std::size_t r = 0; r < d.rejected.size(); ++r) d.rejected[r] += s.decode.rejected[r];
        own += s.own_exports_skipped;
        const CaptureStats& c = s.capture;
        if (live) {
            const DispatchStats mine = in.pipeline.producer(static_cast<unsigned>(i)).stats();
            fmt::print(out, "  interface {} (ifIndex {})\n", cells[i].name, cells[i].ifindex);
            line(4, "packets received", c.received);
            const bool queue0 = cells[i].name.ends_with("/q0");
            switch (in.config.backend) {
                case Backend::pcap:
                    line(4, "dropped by the kernel (buffer full)", c.dropped_kernel);
                    line(4, "dropped by the interface", c.dropped_interface);
                    break;
                case Backend::afxdp:
                    line(4, "dropped by the kernel (buffer full)", c.dropped_kernel);
                    line(4, "dropped by the interface", c.dropped_interface);
                    line(4, "dropped, AF_XDP RX ring full", c.dropped_ring_full);
                    line(4, "fill ring empty (no frame)", c.buffers_empty);
                    if (c.unserved_queues != 0 || queue0)
                        line(4, "on queues without a socket (port)", c.unserved_queues);
                    line(4, "empty polls", c.empty_polls);
                    break;
                case Backend::dpdk:
                    // The port's counters are read by queue 0 and shown there only.
                    if (queue0) {
                        line(4, "dropped, NIC ring full (imissed, port)", c.dropped_ring_full);
                        line(4, "dropped, no mbuf (rx_nombuf, port)", c.buffers_empty);
                        line(4, "receive errors (ierrors, port)", c.receive_errors);
                    }
                    line(4, "dropped on this queue (q_errors)", c.dropped_interface);
                    line(4, "empty polls", c.empty_polls);
                    break;
            }
            line(4, "dropped, worker ring full", mine.dropped_ring_full);
            line(4, "capture reopened", c.reopens);
        } else {
            line(2, "packets read", c.received);
            if (c.skipped_bad_time != 0)
                line(4, "skipped, timestamp out of range", c.skipped_bad_time);
            if (c.skipped_link_type != 0)
                line(4, "skipped, link type not read", c.skipped_link_type);
            if (!in.config.filter.empty())
                line(4, "left out by the capture filter", c.filtered_out);
        }
    }
    if (live) line(2, "packets decoded", d.packets);
    line(4, "decoded into flows", d.decoded - own);
    line(4, "rejected", d.rejected_total());
    for (std::size_t r = 1; r < kDecodeReasonCount; ++r) {
        if (d.rejected[r] != 0)
            line(6, decode_reason_name(static_cast<DecodeReason>(r)), d.rejected[r]);
    }
    if (own != 0 || live) line(4, "left out, this probe's own exports", own);

    const FlowShardStats f = in.pipeline.flow_stats();
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
            if (f.evicted_table_full != 0) {
                line(6, "flows of a single packet", f.evicted_probation);
                line(6, "flows of two packets or more", f.evicted_table_full - f.evicted_probation);
            }
            // Saturated: while the run goes on, the two counters may come from two batches.
            line(4, "split, counter would overflow", n - std::min(n, f.evicted_table_full));
        } else {
            line(4, end_reason_name(reason), n);
        }
    }
    if (in.running)
        line(2, "flows in the cache now", f.flows_created - std::min(ended, f.flows_created));
    const ExportCounters x = in.sink.counters();
    if (!in.config.collectors.empty()) {
        const ExportStats& e = x.exported;
        const int version = in.config.exporting.version;
        line(2, fmt::format("{} records exported", ExportPath::format_name(version)), e.records);
        line(4, "datagrams", e.datagrams);
        if (version == 5) line(4, "IPv6 flows skipped (v5 is IPv4 only)", e.ipv6_skipped);
        if (version != 5) line(4, "datagrams carrying templates", e.template_sends);
        if (e.uptime_rebased != 0)
            line(4, "sysUptime origin moved (capture spans >49 days)", e.uptime_rebased);
        for (std::size_t i = 0; i < in.sink.collector_count(); ++i) {
            const CollectorCounters c = in.sink.collector(i);
            const std::string error =
                c.send_errors != 0
                    ? fmt::format(" ({})", error_text(static_cast<int>(c.last_errno)))
                    : std::string();
            fmt::print(out, "    collector {}: {} datagrams sent, {} send errors{}{}\n",
                       in.transport.collectors()[i].address.to_string(), c.datagrams_sent,
                       c.send_errors, error,
                       c.refused ? fmt::format(", {} refused (port unreachable: collector down?)",
                                               c.refused)
                                 : std::string());
        }
    }
    if (!in.config.write_path.empty()) {
        line(2, "JSON records written", x.json_records);
        if (x.json_unwritten != 0) line(4, "not written, write error", x.json_unwritten);
        if (x.json_reopens != 0) line(4, "file reopened (SIGHUP)", x.json_reopens);
        if (x.json_lost != 0) line(4, "lost, file could not be reopened", x.json_lost);
    }
    (void)std::fflush(out);
}

}  // namespace spanflow
