// The one export path a run uses, chosen by -v: NetFlow v5, NetFlow v9 or IPFIX. The replay loop
// talks to this and never to a format's exporter directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <variant>

#include "export/export_stats.hpp"
#include "export/template_exporter.hpp"
#include "export/udp_transport.hpp"
#include "export/v5_exporter.hpp"

namespace spanflow {

struct ExportConfig {
    int version{10};                      // 5, 9 or 10 (IPFIX)
    std::uint8_t engine_type{0};          // v5 header
    std::uint32_t engine_id{0};           // v5 engine_id (8 bits) / v9 source id (32 bits)
    std::uint32_t observation_domain{0};  // IPFIX
    std::size_t max_datagram_bytes{1400};
    std::uint32_t refresh_datagrams{20};  // v9/IPFIX template refresh
    Duration refresh_interval{std::chrono::seconds{60}};
    // How long a partly filled datagram waits for more records (export clock): long enough in a
    // replay to fill datagrams, short live so that an ended flow goes out at once.
    Duration max_hold{std::chrono::seconds{1}};
};

class ExportPath {
  public:
    ExportPath(UdpTransport& transport, const ExportConfig& config);

    // "NetFlow v5", "NetFlow v9", "IPFIX".
    [[nodiscard]] static std::string_view format_name(int version);
    // The largest packet or octet count one record carries: the flow table splits a flow
    // before it would pass it (v5 has 32-bit counters; v9 and IPFIX are sent with 64 bits).
    [[nodiscard]] static std::uint64_t max_counter(int version);
    // The smallest --max-datagram that can carry a record (v9/IPFIX: with the templates).
    [[nodiscard]] static std::size_t min_datagram_bytes(int version);

    void set_start_time(Timestamp t);
    void add(const FlowRecord& r, Timestamp now);
    void poll(Timestamp now);
    // At the end of a run: sends everything held, and IPFIX's closing options record.
    void finish(Timestamp now);
    [[nodiscard]] const ExportStats& stats() const;

  private:
    std::variant<V5Exporter, TemplateExporter> exporter_;
};

}  // namespace spanflow
