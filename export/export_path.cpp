#include "export/export_path.hpp"

#include <limits>

#include "export/wire/netflow_v5.hpp"

namespace spanflow {
namespace {

std::variant<V5Exporter, TemplateExporter> make_exporter(UdpTransport& transport,
                                                         const ExportConfig& c) {
    if (c.version == 5) {
        return std::variant<V5Exporter, TemplateExporter>(
            std::in_place_type<V5Exporter>, transport, c.engine_type,
            static_cast<std::uint8_t>(c.engine_id), c.max_datagram_bytes, c.max_hold);
    }
    TemplateExporterConfig t;
    t.format = c.version == 9 ? TemplateFormat::v9 : TemplateFormat::ipfix;
    t.domain = c.version == 9 ? c.engine_id : c.observation_domain;
    t.max_datagram_bytes = c.max_datagram_bytes;
    t.refresh_datagrams = c.refresh_datagrams;
    t.refresh_interval = c.refresh_interval;
    t.max_hold = c.max_hold;
    return std::variant<V5Exporter, TemplateExporter>(std::in_place_type<TemplateExporter>,
                                                      transport, t);
}

}  // namespace

ExportPath::ExportPath(UdpTransport& transport, const ExportConfig& config)
    : exporter_(make_exporter(transport, config)) {}

std::string_view ExportPath::format_name(int version) {
    switch (version) {
        case 5:
            return "NetFlow v5";
        case 9:
            return "NetFlow v9";
        default:
            return "IPFIX";
    }
}

std::uint64_t ExportPath::max_counter(int version) {
    return version == 5 ? wire::v5::kMaxCounter : std::numeric_limits<std::uint64_t>::max();
}

std::size_t ExportPath::min_datagram_bytes(int version) {
    if (version == 5) return wire::v5::kHeaderBytes + wire::v5::kRecordBytes;
    return TemplateMessageWriter(version == 9 ? TemplateFormat::v9 : TemplateFormat::ipfix)
        .min_message_bytes();
}

void ExportPath::set_start_time(Timestamp t) {
    std::visit([t](auto& e) { e.set_start_time(t); }, exporter_);
}

void ExportPath::add(const FlowRecord& r, Timestamp now) {
    std::visit([&](auto& e) { e.add(r, now); }, exporter_);
}

void ExportPath::poll(Timestamp now) {
    std::visit([now](auto& e) { e.poll(now); }, exporter_);
}

void ExportPath::finish(Timestamp now) {
    std::visit([now](auto& e) { e.finish(now); }, exporter_);
}

const ExportStats& ExportPath::stats() const {
    return std::visit([](const auto& e) -> const ExportStats& { return e.stats(); }, exporter_);
}

}  // namespace spanflow
