#include "export/template_exporter.hpp"

#include <algorithm>

namespace spanflow {

TemplateExporter::TemplateExporter(UdpTransport& transport, const TemplateExporterConfig& config)
    : transport_(transport), config_(config), writer_(config.format) {
    config_.max_datagram_bytes = std::max(config_.max_datagram_bytes, writer_.min_message_bytes());
    buffer_.resize(config_.max_datagram_bytes);
}

void TemplateExporter::set_start_time(Timestamp t) {
    start_time_ = t;
    started_ = true;
    uptime_.set(t);
    if (config_.format == TemplateFormat::ipfix) send_options_message(t);
}

void TemplateExporter::add_templates(Timestamp now, bool with_options_record) {
    const ExporterOptions options{start_time_, flow_records_sent_, datagrams_sent_};
    // The buffer is at least min_message_bytes(): templates always fit an empty message.
    (void)writer_.add_templates(options, config_.domain, with_options_record);
    templates_sent_ = true;
    templates_sent_at_ = now;
    datagrams_since_templates_ = 0;
    ++stats_.template_sends;
}

void TemplateExporter::send_options_message(Timestamp now) {
    writer_.begin(buffer_, uptime_.boot());
    add_templates(now, true);
    open_ = true;
    send(now);
}

void TemplateExporter::finish(Timestamp now) {
    flush(now);
    // A run that saw no packet never started, and has nothing to close.
    if (config_.format == TemplateFormat::ipfix && started_) send_options_message(now);
}

bool TemplateExporter::templates_due(Timestamp now) const {
    return !templates_sent_ || datagrams_since_templates_ >= config_.refresh_datagrams ||
           now - templates_sent_at_ >= config_.refresh_interval;
}

void TemplateExporter::begin(const FlowRecord& first, Timestamp now) {
    if (config_.format == TemplateFormat::v9 && !uptime_.fits(first.first, first.last)) {
        uptime_.set(first.first);
        ++stats_.uptime_rebased;
    }
    writer_.begin(buffer_, uptime_.boot());
    // v9 repeats the options record with the templates; IPFIX sends it only at start and end.
    if (templates_due(now)) add_templates(now, config_.format == TemplateFormat::v9);
    open_ = true;
    opened_at_ = now;
    message_last_ = first.last;
}

void TemplateExporter::add(const FlowRecord& r, Timestamp now) {
    if (open_ && config_.format == TemplateFormat::v9 && !uptime_.fits(r.first, r.last)) send(now);
    if (!open_) begin(r, now);
    if (writer_.add_record(r)) {
        message_last_ = std::max(message_last_, r.last);
        return;
    }
    send(now);
    begin(r, now);
    (void)writer_.add_record(r);  // an empty message holds the templates and one record
}

void TemplateExporter::poll(Timestamp now) {
    if (open_ && now - opened_at_ >= config_.max_hold) send(now);
}

void TemplateExporter::flush(Timestamp now) {
    if (open_) send(now);
}

void TemplateExporter::send(Timestamp now) {
    const bool ipfix = config_.format == TemplateFormat::ipfix;
    MessageHeader header;
    // In replay the header carries the packet clock, unless v9's sysUptime cannot reach it (a
    // capture that jumped back in time by more than 49 days): then the message's latest flow end.
    header.export_time = ipfix || uptime_.fits(uptime_.boot(), now) ? now : message_last_;
    header.sequence = static_cast<std::uint32_t>(ipfix ? data_records_sent_ : datagrams_sent_);
    header.domain = config_.domain;
    const std::size_t length = writer_.finish(header);
    transport_.send(std::span<const std::uint8_t>(buffer_.data(), length));
    flow_records_sent_ += writer_.flow_records();
    data_records_sent_ += writer_.data_records();
    ++datagrams_sent_;
    ++datagrams_since_templates_;
    stats_.records += writer_.flow_records();
    ++stats_.datagrams;
    open_ = false;
}

}  // namespace spanflow
