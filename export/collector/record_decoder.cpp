#include "export/collector/record_decoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "export/collector/flow_times.hpp"
#include "export/wire/ipfix.hpp"
#include "probe/core/byte_order.hpp"

namespace spanflow::collector {

namespace ie = wire::ipfix::ie;

namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::size_t kMaxUnsignedBytes = 8;  // longer unknown fields are written as hex
constexpr std::size_t kIpv4Bytes = 4;
constexpr std::size_t kIpv6Bytes = 16;
constexpr std::size_t kMacBytes = 6;
constexpr std::size_t kNtpBytes = 8;

// An unsigned big-endian field of 1..8 bytes (RFC 7011 reduced-size encoding included).
std::uint64_t load_be_unsigned(const std::uint8_t* p, std::size_t len) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < len; ++i) v = (v << 8) | p[i];
    return v;
}

// Stores the field in `to` when its length fits the type (at most `max_bytes`); false otherwise,
// and the field is then kept as a numbered member rather than cut short.
template <typename T>
bool set_unsigned(T& to, const std::uint8_t* p, std::size_t len,
                  std::size_t max_bytes = sizeof(T)) {
    if (len == 0 || len > max_bytes) return false;
    to = static_cast<T>(load_be_unsigned(p, len));
    return true;
}

// One record's fields that are placed only once the whole record is read.
struct RecordState {
    FlowRecord r{};
    std::uint8_t address_version{0};  // from the address elements, which win over IE 60
    std::uint8_t ip_version_element{0};
    bool has_first_uptime{false};
    bool has_last_uptime{false};
    std::uint32_t first_uptime{0};
    std::uint32_t last_uptime{0};
    bool has_icmp{false};
    std::uint16_t icmp_type_code{0};
};

bool set_address(RecordState& s, std::array<std::uint8_t, 16>& to, const std::uint8_t* p,
                 std::size_t len, std::size_t want, std::uint8_t version) {
    if (len != want) return false;
    std::copy(p, p + len, to.begin());  // network order, as FlowKey keeps addresses
    s.address_version = version;
    return true;
}

// MAC elements of all zeros mean "no MAC" (the probe sends them when it saw no Ethernet header).
bool set_mac(MacAddress& to, bool& has, const std::uint8_t* p, std::size_t len) {
    if (len != kMacBytes) return false;
    std::copy(p, p + len, to.begin());
    has = std::any_of(to.begin(), to.end(), [](std::uint8_t b) { return b != 0; });
    return true;
}

bool set_time_seconds(Timestamp& to, const std::uint8_t* p, std::size_t len) {
    std::uint32_t sec = 0;
    if (!set_unsigned(sec, p, len)) return false;
    to = Timestamp::from_ns(std::int64_t{sec} * kNsPerSec);
    return true;
}

bool set_time_ms(Timestamp& to, const std::uint8_t* p, std::size_t len) {
    std::uint64_t ms = 0;
    if (!set_unsigned(ms, p, len)) return false;
    to = timestamp_from_ms(ms);
    return true;
}

bool set_time_ntp(Timestamp& to, const std::uint8_t* p, std::size_t len) {
    if (len != kNtpBytes) return false;
    to = timestamp_from_ntp(load_be_unsigned(p, len));
    return true;
}

// Places one IANA element. Returns false for an element spanflow does not map (or one whose
// length does not fit its meaning): the caller then writes it as a numbered member.
bool apply_element(RecordState& s, std::uint16_t id, const std::uint8_t* p, std::size_t len,
                   const RecordContext& context) {
    FlowRecord& r = s.r;
    switch (id) {
        case ie::kSourceIPv4Address:
            return set_address(s, r.key.src_addr, p, len, kIpv4Bytes, 4);
        case ie::kDestinationIPv4Address:
            return set_address(s, r.key.dst_addr, p, len, kIpv4Bytes, 4);
        case ie::kSourceIPv6Address:
            return set_address(s, r.key.src_addr, p, len, kIpv6Bytes, 6);
        case ie::kDestinationIPv6Address:
            return set_address(s, r.key.dst_addr, p, len, kIpv6Bytes, 6);
        case ie::kProtocolIdentifier:
            return set_unsigned(r.key.protocol, p, len);
        case ie::kSourceTransportPort:
            return set_unsigned(r.key.src_port, p, len);
        case ie::kDestinationTransportPort:
            return set_unsigned(r.key.dst_port, p, len);
        case ie::kIpClassOfService:
            return set_unsigned(r.key.tos, p, len);
        case ie::kIngressInterface:
            return set_unsigned(r.key.ifindex, p, len);
        case ie::kPacketDeltaCount:
            return set_unsigned(r.packets, p, len);
        case ie::kOctetDeltaCount:
            return set_unsigned(r.bytes, p, len);
        case ie::kTcpControlBits:  // 2 bytes in IPFIX (header flags included), 1 in v9
            return set_unsigned(r.tcp_flags, p, len, 2);
        case ie::kFlowEndReason:
            return set_unsigned(r.end_reason, p, len);
        case ie::kVlanId:
            if (!set_unsigned(r.vlan_id, p, len)) return false;
            r.has_vlan = r.vlan_id != 0;  // the probe sends 0 for untagged frames
            return true;
        case ie::kSourceMacAddress:
            return set_mac(r.src_mac, r.has_src_mac, p, len);
        case ie::kDestinationMacAddress:
            return set_mac(r.dst_mac, r.has_dst_mac, p, len);
        case ie::kIpVersion:
            return set_unsigned(s.ip_version_element, p, len);
        case ie::kIcmpTypeCodeIPv4:
        case ie::kIcmpTypeCodeIPv6:
            s.has_icmp = set_unsigned(s.icmp_type_code, p, len);
            return s.has_icmp;
        case ie::kFlowStartSeconds:
            return set_time_seconds(r.first, p, len);
        case ie::kFlowEndSeconds:
            return set_time_seconds(r.last, p, len);
        case ie::kFlowStartMilliseconds:
            return set_time_ms(r.first, p, len);
        case ie::kFlowEndMilliseconds:
            return set_time_ms(r.last, p, len);
        case ie::kFlowStartMicroseconds:
        case ie::kFlowStartNanoseconds:
            return set_time_ntp(r.first, p, len);
        case ie::kFlowEndMicroseconds:
        case ie::kFlowEndNanoseconds:
            return set_time_ntp(r.last, p, len);
        case ie::kFlowStartSysUpTime:
            if (!context.has_sys_uptime) return false;
            s.has_first_uptime = set_unsigned(s.first_uptime, p, len);
            return s.has_first_uptime;
        case ie::kFlowEndSysUpTime:
            if (!context.has_sys_uptime) return false;
            s.has_last_uptime = set_unsigned(s.last_uptime, p, len);
            return s.has_last_uptime;
        // Known, and nothing a FlowRecord holds: neither mapped nor written.
        case ie::kEgressInterface:
        case ie::kSamplingInterval:
        case ie::kSamplingAlgorithm:
        case ie::kExportedMessageTotalCount:
        case ie::kExportedFlowRecordTotalCount:
        case ie::kObservationDomainId:
        case ie::kSystemInitTimeMilliseconds:
        case ie::kSelectorAlgorithm:
        case ie::kSamplingPacketInterval:
        case ie::kSamplingPacketSpace:
            return true;
        default:
            return false;
    }
}

// Places what needs the whole record: uptime-relative times, the IP version, ICMP type and code.
void finish_record(RecordState& s, const RecordContext& context) {
    FlowRecord& r = s.r;
    if (s.has_first_uptime || s.has_last_uptime) {
        const std::uint32_t first = s.has_first_uptime ? s.first_uptime : s.last_uptime;
        const std::uint32_t last = s.has_last_uptime ? s.last_uptime : s.first_uptime;
        const FlowTimesMs t = flow_times_ms(context.export_ms, context.sys_uptime_ms, first, last);
        r.first = Timestamp::from_ns(t.first * kNsPerMs);
        r.last = Timestamp::from_ns(t.last * kNsPerMs);
    }
    if (s.address_version != 0) {
        r.key.ip_version = s.address_version;
    } else {
        r.key.ip_version = s.ip_version_element == 6 ? 6 : 4;
    }
    // spanflow keys ICMP flows with dst_port = type * 256 + code, as the v5 format does.
    if (s.has_icmp && r.key.dst_port == 0) r.key.dst_port = s.icmp_type_code;
}

// ",\"ie<N>\":<value>" for 1..8 fixed bytes, ",\"ie<N>\":\"<hex>\"" otherwise.
void append_numbered_member(std::string& text, std::uint16_t id, const std::uint8_t* p,
                            std::size_t len, bool variable) {
    auto it = std::back_inserter(text);
    if (!variable && len >= 1 && len <= kMaxUnsignedBytes) {
        fmt::format_to(it, ",\"ie{}\":{}", id, load_be_unsigned(p, len));
        return;
    }
    constexpr char kHex[] = "0123456789abcdef";
    fmt::format_to(it, ",\"ie{}\":\"", id);
    for (std::size_t i = 0; i < len; ++i) {
        text += kHex[p[i] >> 4];
        text += kHex[p[i] & 0xF];
    }
    text += '"';
}

}  // namespace

DataSetResult decode_data_set(const Template& t, std::span<const std::uint8_t> body,
                              const RecordContext& context, DecodedFlows& flows) {
    DataSetResult result;
    if (t.min_record_bytes == 0) return result;  // the template parser never lets one in
    const std::uint8_t* p = body.data();
    std::size_t left = body.size();
    while (left >= t.min_record_bytes) {
        const std::size_t text_start = flows.extra_text.size();
        RecordState s{};
        s.r.end_reason = FlowEndReason::unknown;  // unless the record carries IE 136
        bool complete = true;
        for (const TemplateField& f : t.fields) {
            std::size_t len = f.length;
            if (f.variable) {
                if (left < 1) {
                    complete = false;
                    break;
                }
                len = *p++;
                --left;
                if (len == wire::ipfix::kLongVariableLengthMarker) {
                    if (left < 2) {
                        complete = false;
                        break;
                    }
                    len = load_be16(p);
                    p += 2;
                    left -= 2;
                }
            }
            if (len > left) {
                complete = false;
                break;
            }
            if (!t.options && f.enterprise == 0 && !apply_element(s, f.id, p, len, context))
                append_numbered_member(flows.extra_text, f.id, p, len, f.variable);
            p += len;
            left -= len;
        }
        if (!complete) {
            flows.extra_text.resize(text_start);
            result.status = DecodeStatus::bad_record;
            break;
        }
        ++result.records;
        if (t.options) continue;
        finish_record(s, context);
        flows.add(s.r);
    }
    return result;
}

}  // namespace spanflow::collector
