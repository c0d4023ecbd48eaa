// The NetFlow v9 and IPFIX export path: packs ended flows into messages of at most
// `max_datagram_bytes`, sends the templates at start and again every `refresh_datagrams`
// datagrams and every `refresh_interval` of the export clock, whichever comes first, numbers the
// messages and hands them to the transport.
//
// Templates ride at the front of the next data message once a refresh is due, so a collector
// started late (or restarted) decodes data again within one refresh interval; an exporter with no
// flows to send sends no templates either.
//
// Sequence numbers: v9 counts the export datagrams sent before this one (RFC 3954 section 5.1).
// IPFIX counts the data records sent before this message in this observation domain (RFC 7011
// section 3.1): flow records and options records; template records never count.
//
// The options record: v9 sends it with every template refresh. IPFIX sends it in a message of its
// own at start (before any flow) and again at the end of the run with the totals, not with each
// refresh: nfdump (1.7) leaves options records out of its sequence count, so one between flow
// messages would make it report a sequence failure, while one before the first flow message is
// taken as the start of the stream and one after the last is never checked. Both nfdump and
// RFC-exact collectors (Wireshark, spanflow-collect) then see an unbroken sequence.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "export/export_stats.hpp"
#include "export/template_encoder.hpp"
#include "export/udp_transport.hpp"
#include "export/uptime_origin.hpp"

namespace spanflow {

struct TemplateExporterConfig {
    TemplateFormat format{TemplateFormat::ipfix};
    std::uint32_t domain{0};  // v9 source id / IPFIX observation domain id
    std::size_t max_datagram_bytes{1400};
    std::uint32_t refresh_datagrams{20};
    Duration refresh_interval{std::chrono::seconds{60}};
    // A partly filled message waits at most this long (export clock) for more records.
    Duration max_hold{std::chrono::seconds{1}};
};

class TemplateExporter {
  public:
    // `max_datagram_bytes` below TemplateMessageWriter::min_message_bytes() is raised to it.
    TemplateExporter(UdpTransport& transport, const TemplateExporterConfig& config);

    // The export clock when the exporter started (replay: the first packet's time): IPFIX
    // systemInitTimeMilliseconds, and v9's sysUptime 0 (a second before, see UptimeOrigin).
    // IPFIX sends its opening message (templates and options record) now.
    void set_start_time(Timestamp t);
    void add(const FlowRecord& r, Timestamp now);
    void poll(Timestamp now);   // sends a partial message that has waited config.max_hold
    void flush(Timestamp now);  // sends the partial message now
    // At the end of the run: flush, then (IPFIX) the closing options record with the totals.
    void finish(Timestamp now);

    [[nodiscard]] const ExportStats& stats() const { return stats_; }

  private:
    void begin(const FlowRecord& first, Timestamp now);
    void add_templates(Timestamp now, bool with_options_record);
    void send_options_message(Timestamp now);
    void send(Timestamp now);
    [[nodiscard]] bool templates_due(Timestamp now) const;

    UdpTransport& transport_;
    TemplateExporterConfig config_;
    TemplateMessageWriter writer_;
    std::vector<std::uint8_t> buffer_;
    UptimeOrigin uptime_{std::chrono::seconds{1}};
    Timestamp start_time_{};
    bool started_{false};
    bool open_{false};  // a message is being filled
    Timestamp opened_at_{};
    Timestamp message_last_{};  // the latest flow end in the open message
    bool templates_sent_{false};
    Timestamp templates_sent_at_{};
    std::uint32_t datagrams_since_templates_{0};
    std::uint64_t flow_records_sent_{0};
    std::uint64_t data_records_sent_{0};  // flow and options records: the IPFIX sequence
    std::uint64_t datagrams_sent_{0};
    ExportStats stats_{};
};

}  // namespace spanflow
