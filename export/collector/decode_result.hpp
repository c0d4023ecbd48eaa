// What decoding one export datagram yields: its flow records (and the JSON members of elements the
// collector does not map), a status that names what was wrong with it, and the header fields that
// sequence tracking needs, whatever the version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probe/core/flow_record.hpp"

namespace spanflow::collector {

// Why a datagram was not decoded whole. v5 datagrams are refused whole. In v9 and IPFIX each set
// carries its own length, so an error inside a set ends only that set, and an error in the set
// framing ends only the rest of the datagram: what came before was well-formed and is kept. The
// datagram is counted under the first reason met.
enum class DecodeStatus : std::uint8_t {
    ok = 0,
    too_short,            // shorter than its version's fixed header (or than the version field)
    unsupported_version,  // a version field this collector has no decoder for
    bad_count,            // header record count outside what the format allows
    truncated,            // fewer bytes than the header's count of records needs
    length_mismatch,      // IPFIX: the header's message length is not the datagram's length
    bad_set_length,       // a set length below its 4-byte header or past the end of the datagram
    bad_template,         // no fields (v9), fields past the set, or a record length of 0 or > 65535
    bad_options_template,  // scope length not a multiple of 4, or no scope fields
    unknown_set_id,        // a reserved set id (v9 2..255, IPFIX 0, 1, 4..255): set skipped
    bad_record,            // a variable-length field runs past the end of its set
};
inline constexpr int kDecodeStatusCount = 11;

constexpr std::string_view decode_status_name(DecodeStatus s) {
    switch (s) {
        case DecodeStatus::ok:
            return "ok";
        case DecodeStatus::too_short:
            return "too short";
        case DecodeStatus::unsupported_version:
            return "unsupported version";
        case DecodeStatus::bad_count:
            return "bad count";
        case DecodeStatus::truncated:
            return "truncated";
        case DecodeStatus::length_mismatch:
            return "length mismatch";
        case DecodeStatus::bad_set_length:
            return "bad set length";
        case DecodeStatus::bad_template:
            return "bad template";
        case DecodeStatus::bad_options_template:
            return "bad options template";
        case DecodeStatus::unknown_set_id:
            return "unknown set id";
        case DecodeStatus::bad_record:
            return "bad record";
    }
    return "unknown";
}

// The header fields of one datagram that tell its place in the exporter's stream. Each format
// counts its sequence in its own unit (v5: flows, v9: datagrams, IPFIX: flow data records), so the
// decoder states how far this datagram moves it rather than leaving that to the tracker.
struct DatagramHeader {
    std::uint16_t version{0};  // 0: the header was not read, so there is no sequence to account
    std::uint32_t sequence{0};
    std::uint32_t sequence_increment{0};
    // True when part of the datagram could not be counted (IPFIX: a data set whose template is
    // unknown, or a set left undecoded): the next datagram's sequence is then taken as expected.
    bool increment_unknown{false};
    // The exporter's stream within its address: v5 engine_type << 8 | engine_id; v9 source id;
    // IPFIX observation domain id.
    std::uint32_t domain{0};
};

// The flow records of one or more datagrams. Elements the collector does not map travel beside
// each record as ready JSON members (",\"ie999\":7"), all in one text with an end offset per
// record, so that a reused DecodedFlows allocates nothing once it has grown.
struct DecodedFlows {
    std::vector<FlowRecord> records;
    std::string extra_text;
    std::vector<std::size_t> extra_ends;  // records[i]'s members end at extra_text[extra_ends[i]]

    void clear() {
        records.clear();
        extra_text.clear();
        extra_ends.clear();
    }
    // Adds `r` with the members appended to extra_text since the previous record.
    void add(const FlowRecord& r) {
        records.push_back(r);
        extra_ends.push_back(extra_text.size());
    }
    [[nodiscard]] std::size_t size() const { return records.size(); }
    [[nodiscard]] bool empty() const { return records.empty(); }
    [[nodiscard]] std::string_view extras(std::size_t i) const {
        const std::size_t begin = i == 0 ? 0 : extra_ends[i - 1];
        return std::string_view(extra_text).substr(begin, extra_ends[i] - begin);
    }
};

// What the template formats do besides decoding flows, counted across datagrams.
struct TemplateCounters {
    std::uint64_t option_records{0};     // options data records: decoded, counted, never output
    std::uint64_t held_sets{0};          // IPFIX data sets that arrived before their template
    std::uint64_t released_sets{0};      // held sets decoded once their template came
    std::uint64_t expired_sets{0};       // held sets dropped when no template came in time
    std::uint64_t overflow_sets{0};      // sets not held because the hold was full
    std::uint64_t no_template_sets{0};   // v9 data sets without their template: dropped at once
    std::uint64_t refused_templates{0};  // not kept: the template cache was full

    [[nodiscard]] std::uint64_t dropped_without_template() const {
        return expired_sets + overflow_sets + no_template_sets;
    }
};

}  // namespace spanflow::collector
