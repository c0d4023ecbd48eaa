// What decoding one export datagram yields besides its flow records: a status that names why a
// datagram was refused, and the header fields that sequence tracking needs, whatever the version.
#pragma once

#include <cstdint>
#include <string_view>

namespace spanflow::collector {

// Why a datagram was or was not decoded. A refused datagram is counted under its reason and
// skipped as a whole: none of its records are kept.
enum class DecodeStatus : std::uint8_t {
    ok = 0,
    too_short,            // shorter than its version's fixed header (or than the version field)
    unsupported_version,  // a version field this collector has no decoder for
    bad_count,            // header record count outside what the format allows
    truncated,            // fewer bytes than the header's count of records needs
};
inline constexpr int kDecodeStatusCount = 5;

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
    }
    return "unknown";
}

// The header fields of one datagram that tell its place in the exporter's stream. Each format
// counts its sequence in its own unit (v5: flows, v9: datagrams, IPFIX: data records), so the
// decoder states how far this datagram moves it rather than leaving that to the tracker.
struct DatagramHeader {
    std::uint16_t version{0};
    std::uint32_t sequence{0};
    std::uint32_t sequence_increment{0};  // v5: the datagram's record count
    // The exporter's stream within its address: v5 engine_type << 8 | engine_id; v9 source id;
    // IPFIX observation domain id.
    std::uint32_t domain{0};
};

}  // namespace spanflow::collector
