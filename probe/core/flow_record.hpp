// A finished flow as it leaves the flow table for the exporter.
#pragma once

#include <cstdint>
#include <string_view>

#include "probe/core/packet_meta.hpp"

namespace spanflow {

// IPFIX flowEndReason (IANA IE 136) values; SEMANTICS.md says when each applies.
enum class FlowEndReason : std::uint8_t {
    unknown = 0,  // not carried by the format (NetFlow v5): left out of JSON
    idle = 1,
    active = 2,
    end_of_flow = 3,
    forced = 4,
    lack_of_resources = 5,
};
inline constexpr int kFlowEndReasonCount = 6;  // index 0 unused, so the code is the index

constexpr std::string_view end_reason_name(FlowEndReason r) {
    switch (r) {
        case FlowEndReason::unknown:
            return "unknown";
        case FlowEndReason::idle:
            return "idle timeout";
        case FlowEndReason::active:
            return "active timeout";
        case FlowEndReason::end_of_flow:
            return "end of flow (TCP FIN/RST)";
        case FlowEndReason::forced:
            return "forced end";
        case FlowEndReason::lack_of_resources:
            return "lack of resources";
    }
    return "unknown";
}

struct FlowRecord {
    FlowKey key{};
    std::uint64_t packets{0};
    std::uint64_t bytes{0};
    Timestamp first{};
    Timestamp last{};
    std::uint8_t tcp_flags{0};
    FlowEndReason end_reason{FlowEndReason::forced};
    bool has_vlan{false};
    bool has_src_mac{false};
    bool has_dst_mac{false};
    std::uint16_t vlan_id{0};
    MacAddress src_mac{};
    MacAddress dst_mac{};
};

}  // namespace spanflow
