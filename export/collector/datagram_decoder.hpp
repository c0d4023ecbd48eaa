// The collector's single entry for decoding: reads the version field every NetFlow and IPFIX
// header starts with and decodes the datagram by that version's rules, keeping the template state
// that v9 and IPFIX need from one datagram to the next.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

#include "export/collector/decode_result.hpp"
#include "export/collector/endpoint.hpp"
#include "export/collector/held_sets.hpp"
#include "export/collector/record_decoder.hpp"
#include "export/collector/template_cache.hpp"

namespace spanflow::collector {

class DatagramDecoder {
  public:
    using Clock = std::chrono::steady_clock;

    // Decodes one datagram of any supported version (5, 9, 10) from `exporter`, appending its
    // flows to `flows` (not cleared first) and filling `header` once its header was read. For
    // IPFIX, flows of sets held earlier and released by a template in this datagram are appended
    // too; they are not part of this datagram's sequence increment. `now` is the collector's own
    // clock, which times held sets out.
    [[nodiscard]] DecodeStatus decode(std::span<const std::uint8_t> datagram,
                                      const Endpoint& exporter, Clock::time_point now,
                                      DatagramHeader& header, DecodedFlows& flows);

    // Drops the held sets whose template has not come within HeldSets::kHoldTime of `now`.
    void expire(Clock::time_point now);

    [[nodiscard]] const TemplateCounters& counters() const { return counters_; }
    [[nodiscard]] const TemplateCache& templates() const { return templates_; }
    [[nodiscard]] const HeldSets& held() const { return held_; }

  private:
    struct Message;  // the datagram being decoded: its stream, header context and totals

    DecodeStatus decode_v9(std::span<const std::uint8_t> datagram, Message& m);
    DecodeStatus decode_ipfix(std::span<const std::uint8_t> datagram, Message& m);
    // Walks the sets after the message header.
    DecodeStatus decode_sets(std::span<const std::uint8_t> sets, Message& m);
    DecodeStatus decode_template_set(std::span<const std::uint8_t> body, bool options, Message& m);
    DecodeStatus decode_v9_options_template_set(std::span<const std::uint8_t> body, Message& m);
    void decode_data_set_of(std::uint16_t set_id, std::span<const std::uint8_t> body, Message& m);
    // Reads `field_count` field specifiers from body[offset..] and defines the template, then
    // releases the IPFIX data sets held for it.
    DecodeStatus define(std::uint16_t template_id, bool options, std::span<const std::uint8_t> body,
                        std::size_t& offset, std::size_t field_count, Message& m);

    TemplateCache templates_;
    HeldSets held_;
    TemplateCounters counters_{};
    Template parsed_{};  // the template being parsed, reused so re-sent templates allocate nothing
};

}  // namespace spanflow::collector
