#include "export/template_encoder.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "export/wire/ipfix.hpp"
#include "export/wire/netflow_v9.hpp"
#include "probe/core/byte_order.hpp"

namespace spanflow {
namespace {

namespace ie = wire::ipfix::ie;

struct Field {
    std::uint16_t id;
    std::uint16_t length;
};

// The flow templates, in the order the record writer below emits them (see the header).
constexpr std::array<Field, 18> kIpfixIpv4{{{ie::kSourceIPv4Address, 4},
                                            {ie::kDestinationIPv4Address, 4},
                                            {ie::kProtocolIdentifier, 1},
                                            {ie::kSourceTransportPort, 2},
                                            {ie::kDestinationTransportPort, 2},
                                            {ie::kIpClassOfService, 1},
                                            {ie::kIngressInterface, 4},
                                            {ie::kEgressInterface, 4},
                                            {ie::kPacketDeltaCount, 8},
                                            {ie::kOctetDeltaCount, 8},
                                            {ie::kFlowStartMilliseconds, 8},
                                            {ie::kFlowEndMilliseconds, 8},
                                            {ie::kTcpControlBits, 2},
                                            {ie::kFlowEndReason, 1},
                                            {ie::kVlanId, 2},
                                            {ie::kSourceMacAddress, 6},
                                            {ie::kDestinationMacAddress, 6},
                                            {ie::kIpVersion, 1}}};
// v9 sends the same elements, but times as sysUptime (22/21, 4 bytes), tcpControlBits in one byte
// (its v9 size), and ICMP_TYPE at the end.
constexpr std::array<Field, 19> v9_of(const std::array<Field, 18>& ipfix) {
    std::array<Field, 19> v9{};
    for (std::size_t i = 0; i < ipfix.size(); ++i) {
        switch (ipfix[i].id) {
            case ie::kFlowStartMilliseconds:
                v9[i] = {ie::kFlowStartSysUpTime, 4};
                break;
            case ie::kFlowEndMilliseconds:
                v9[i] = {ie::kFlowEndSysUpTime, 4};
                break;
            case ie::kTcpControlBits:
                v9[i] = {ie::kTcpControlBits, 1};
                break;
            default:
                v9[i] = ipfix[i];
        }
    }
    v9[ipfix.size()] = {ie::kIcmpTypeCodeIPv4, 2};
    return v9;
}
constexpr auto kV9Ipv4 = v9_of(kIpfixIpv4);

// The IPv6 template differs only in the two address elements.
template <std::size_t N>
constexpr std::array<Field, N> ipv6_of(const std::array<Field, N>& v4) {
    std::array<Field, N> v6 = v4;
    v6[0] = {ie::kSourceIPv6Address, 16};
    v6[1] = {ie::kDestinationIPv6Address, 16};
    return v6;
}
constexpr auto kIpfixIpv6 = ipv6_of(kIpfixIpv4);
constexpr auto kV9Ipv6 = ipv6_of(kV9Ipv4);

constexpr std::array<Field, 1> kIpfixOptionsScope{{{ie::kObservationDomainId, 4}}};
constexpr std::array<Field, 6> kIpfixOptions{{{ie::kSelectorAlgorithm, 2},
                                              {ie::kSamplingPacketInterval, 4},
                                              {ie::kSamplingPacketSpace, 4},
                                              {ie::kSystemInitTimeMilliseconds, 8},
                                              {ie::kExportedFlowRecordTotalCount, 8},
                                              {ie::kExportedMessageTotalCount, 8}}};
constexpr std::array<Field, 1> kV9OptionsScope{{{wire::v9::kScopeSystem, 4}}};
constexpr std::array<Field, 2> kV9Options{
    {{ie::kSamplingInterval, 4}, {ie::kSamplingAlgorithm, 1}}};

constexpr std::size_t bytes_of(std::span<const Field> fields) {
    std::size_t n = 0;
    for (const Field& f : fields) n += f.length;
    return n;
}

std::span<const Field> flow_fields(TemplateFormat format, bool ipv6) {
    if (format == TemplateFormat::ipfix) return ipv6 ? kIpfixIpv6 : kIpfixIpv4;
    return ipv6 ? kV9Ipv6 : kV9Ipv4;
}

constexpr std::size_t pad4(std::size_t n) {
    return (n + wire::v9::kFlowSetAlignment - 1) & ~(wire::v9::kFlowSetAlignment - 1);
}

void store_be64(std::uint8_t* p, std::uint64_t v) {
    store_be32(p, static_cast<std::uint32_t>(v >> 32));
    store_be32(p + 4, static_cast<std::uint32_t>(v));
}

// An unsigned value of 1, 2, 4 or 8 bytes, big-endian.
void store_be(std::uint8_t* p, std::uint16_t length, std::uint64_t v) {
    switch (length) {
        case 1:
            p[0] = static_cast<std::uint8_t>(v);
            break;
        case 2:
            store_be16(p, static_cast<std::uint16_t>(v));
            break;
        case 4:
            store_be32(p, static_cast<std::uint32_t>(v));
            break;
        default:
            store_be64(p, v);
            break;
    }
}

std::uint8_t* write_field_specs(std::uint8_t* p, std::span<const Field> fields) {
    for (const Field& f : fields) {
        store_be16(p, f.id);
        store_be16(p + 2, f.length);
        p += 4;
    }
    return p;
}

// Milliseconds since boot for v9's 32-bit sysUptime fields; a time before boot (a capture whose
// clock went backwards) is clamped to boot rather than wrapped.
std::uint32_t uptime_ms(Timestamp t, std::int64_t boot_ms) {
    return static_cast<std::uint32_t>(std::max<std::int64_t>(t.ms() - boot_ms, 0));
}

// One flow record's value of element `f`.
void write_value(std::uint8_t* p, const Field& f, const FlowRecord& r, std::int64_t boot_ms) {
    const FlowKey& k = r.key;
    switch (f.id) {
        case ie::kSourceIPv4Address:
        case ie::kSourceIPv6Address:
            std::memcpy(p, k.src_addr.data(), f.length);
            return;
        case ie::kDestinationIPv4Address:
        case ie::kDestinationIPv6Address:
            std::memcpy(p, k.dst_addr.data(), f.length);
            return;
        case ie::kSourceMacAddress:
            std::memcpy(p, r.src_mac.data(), 6);
            return;
        case ie::kDestinationMacAddress:
            std::memcpy(p, r.dst_mac.data(), 6);
            return;
        case ie::kProtocolIdentifier:
            return store_be(p, f.length, k.protocol);
        case ie::kSourceTransportPort:
            return store_be(p, f.length, k.src_port);
        case ie::kDestinationTransportPort:
            return store_be(p, f.length, k.dst_port);
        case ie::kIpClassOfService:
            return store_be(p, f.length, k.tos);
        case ie::kIngressInterface:
            return store_be(p, f.length, k.ifindex);
        case ie::kEgressInterface:
            return store_be(p, f.length, 0);  // a passive probe does not know the egress port
        case ie::kPacketDeltaCount:
            return store_be(p, f.length, r.packets);
        case ie::kOctetDeltaCount:
            return store_be(p, f.length, r.bytes);
        case ie::kFlowStartMilliseconds:
            return store_be(p, f.length, static_cast<std::uint64_t>(r.first.ms()));
        case ie::kFlowEndMilliseconds:
            return store_be(p, f.length, static_cast<std::uint64_t>(r.last.ms()));
        case ie::kFlowStartSysUpTime:
            return store_be(p, f.length, uptime_ms(r.first, boot_ms));
        case ie::kFlowEndSysUpTime:
            return store_be(p, f.length, uptime_ms(r.last, boot_ms));
        case ie::kTcpControlBits:
            return store_be(p, f.length, r.tcp_flags);
        case ie::kFlowEndReason:
            return store_be(p, f.length, static_cast<std::uint8_t>(r.end_reason));
        case ie::kVlanId:
            return store_be(p, f.length, r.has_vlan ? r.vlan_id : 0);
        case ie::kIpVersion:
            return store_be(p, f.length, k.ip_version);
        case ie::kIcmpTypeCodeIPv4: {
            const bool icmp = k.protocol == kProtoIcmp || k.protocol == kProtoIcmpv6;
            return store_be(p, f.length, icmp ? k.dst_port : 0);
        }
        default:
            std::memset(p, 0, f.length);
            return;
    }
}

}  // namespace

std::size_t TemplateMessageWriter::header_bytes() const {
    return format_ == TemplateFormat::ipfix ? wire::ipfix::kHeaderBytes : wire::v9::kHeaderBytes;
}

std::size_t TemplateMessageWriter::record_bytes(bool ipv6) const {
    return bytes_of(flow_fields(format_, ipv6));
}

std::size_t TemplateMessageWriter::template_block_bytes(bool with_options_record) const {
    constexpr std::size_t kSet = 4;  // set / FlowSet header: id, length
    const std::size_t templates =
        kSet + std::size_t{8} +
        std::size_t{4} * (flow_fields(format_, false).size() + flow_fields(format_, true).size());
    if (format_ == TemplateFormat::ipfix) {
        const std::size_t options_template =
            kSet + 6 + 4 * (kIpfixOptionsScope.size() + kIpfixOptions.size());
        const std::size_t options_data =
            kSet + bytes_of(kIpfixOptionsScope) + bytes_of(kIpfixOptions);
        return templates + options_template + (with_options_record ? options_data : 0);
    }
    const std::size_t options_template =
        pad4(kSet + 6 + 4 * (kV9OptionsScope.size() + kV9Options.size()));
    const std::size_t options_data = pad4(kSet + bytes_of(kV9OptionsScope) + bytes_of(kV9Options));
    return templates + options_template + (with_options_record ? options_data : 0);
}

std::size_t TemplateMessageWriter::min_message_bytes() const {
    return header_bytes() + template_block_bytes() + pad4(4 + record_bytes(true));
}

void TemplateMessageWriter::begin(std::span<std::uint8_t> out, Timestamp boot_time) {
    out_ = out;
    boot_ms_ = boot_time.ms();
    used_ = header_bytes();
    set_start_ = 0;
    set_id_ = 0;
    record_count_ = 0;
    flow_records_ = 0;
    data_records_ = 0;
}

std::size_t TemplateMessageWriter::write_template(std::uint8_t* p, bool ipv6) const {
    const std::span<const Field> fields = flow_fields(format_, ipv6);
    store_be16(p, ipv6 ? kIpv6TemplateId : kIpv4TemplateId);
    store_be16(p + 2, static_cast<std::uint16_t>(fields.size()));
    return static_cast<std::size_t>(write_field_specs(p + 4, fields) - p);
}

bool TemplateMessageWriter::add_templates(const ExporterOptions& options, std::uint32_t domain,
                                          bool with_options_record) {
    close_set();
    const std::size_t block = template_block_bytes(with_options_record);
    if (room() < block) return false;
    const bool ipfix = format_ == TemplateFormat::ipfix;
    std::uint8_t* const start = out_.data() + used_;
    std::memset(start, 0, block);

    // Template set: both flow templates.
    std::uint8_t* p = start + 4;
    p += write_template(p, false);
    p += write_template(p, true);
    store_be16(start, ipfix ? wire::ipfix::kTemplateSetId : wire::v9::kTemplateFlowSetId);
    store_be16(start + 2, static_cast<std::uint16_t>(p - start));

    // Options template set.
    std::uint8_t* set = p;
    p += 4;
    store_be16(p, kOptionsTemplateId);
    const std::span<const Field> scope = ipfix ? std::span<const Field>(kIpfixOptionsScope)
                                               : std::span<const Field>(kV9OptionsScope);
    const std::span<const Field> fields =
        ipfix ? std::span<const Field>(kIpfixOptions) : std::span<const Field>(kV9Options);
    if (ipfix) {
        // Field count (scope included), then scope field count.
        store_be16(p + 2, static_cast<std::uint16_t>(scope.size() + fields.size()));
        store_be16(p + 4, static_cast<std::uint16_t>(scope.size()));
    } else {
        // Scope and option lengths in bytes of their type/length pairs.
        store_be16(p + 2, static_cast<std::uint16_t>(4 * scope.size()));
        store_be16(p + 4, static_cast<std::uint16_t>(4 * fields.size()));
    }
    p = write_field_specs(write_field_specs(p + 6, scope), fields);
    if (!ipfix) p = set + pad4(static_cast<std::size_t>(p - set));
    store_be16(set,
               ipfix ? wire::ipfix::kOptionsTemplateSetId : wire::v9::kOptionsTemplateFlowSetId);
    store_be16(set + 2, static_cast<std::uint16_t>(p - set));

    if (!with_options_record) {
        used_ += static_cast<std::size_t>(p - start);
        record_count_ += 3;  // two templates and the options template
        return true;
    }

    // Options data set: one record.
    set = p;
    store_be16(set, kOptionsTemplateId);
    p += 4;
    if (ipfix) {
        store_be32(p, domain);
        store_be16(p + 4, wire::ipfix::kSelectorSystematicCount);
        store_be32(p + 6, 1);   // samplingPacketInterval: select 1 packet ...
        store_be32(p + 10, 0);  // ... then skip 0: every packet
        store_be64(p + 14, static_cast<std::uint64_t>(options.system_init.ms()));
        store_be64(p + 22, options.exported_flow_records);
        store_be64(p + 30, options.exported_messages);
        p += 38;
    } else {
        store_be32(p, domain);
        store_be32(p + 4, 1);                     // SAMPLING_INTERVAL 1 ...
        p[8] = wire::v9::kSamplingDeterministic;  // ... deterministic: every packet
        p = set + pad4(static_cast<std::size_t>(p + 9 - set));
    }
    store_be16(set + 2, static_cast<std::uint16_t>(p - set));

    used_ += static_cast<std::size_t>(p - start);
    record_count_ += 4;  // two templates, the options template and its record
    ++data_records_;
    return true;
}

bool TemplateMessageWriter::add_record(const FlowRecord& r) {
    const bool ipv6 = r.key.is_ipv6();
    const std::uint16_t id = ipv6 ? kIpv6TemplateId : kIpv4TemplateId;
    const std::span<const Field> fields = flow_fields(format_, ipv6);
    const std::size_t length = bytes_of(fields);
    const bool new_set = set_start_ == 0 || set_id_ != id;
    // v9 FlowSets are padded to 4 bytes, so room is kept for the padding a set will need: the
    // open set's when a new one starts, and the new end's.
    std::size_t need = 0;
    if (format_ == TemplateFormat::ipfix) {
        need = length + (new_set ? 4 : 0);
    } else if (new_set) {
        const std::size_t open = set_start_ == 0 ? 0 : used_ - set_start_;
        need = (pad4(open) - open) + pad4(4 + length);
    } else {
        const std::size_t open = used_ - set_start_;
        need = pad4(open + length) - open;
    }
    if (room() < need) return false;
    if (new_set) {
        close_set();
        set_start_ = used_;
        set_id_ = id;
        used_ += 4;
    }
    std::uint8_t* p = out_.data() + used_;
    for (const Field& f : fields) {
        write_value(p, f, r, boot_ms_);
        p += f.length;
    }
    used_ += length;
    ++record_count_;
    ++flow_records_;
    ++data_records_;
    return true;
}

void TemplateMessageWriter::close_set() {
    if (set_start_ == 0) return;
    if (format_ == TemplateFormat::v9) {
        const std::size_t padded = set_start_ + pad4(used_ - set_start_);
        std::memset(out_.data() + used_, 0, padded - used_);
        used_ = padded;
    }
    store_be16(out_.data() + set_start_, set_id_);
    store_be16(out_.data() + set_start_ + 2, static_cast<std::uint16_t>(used_ - set_start_));
    set_start_ = 0;
}

std::size_t TemplateMessageWriter::finish(const MessageHeader& h) {
    close_set();
    std::uint8_t* p = out_.data();
    // The header carries a whole second, rounded up so that it is never before a record's end;
    // v9's sysUptime is computed from that same second (SEMANTICS.md, "Export").
    const std::int64_t secs = h.export_time.sec() + (h.export_time.subsec_ns() != 0 ? 1 : 0);
    if (format_ == TemplateFormat::ipfix) {
        namespace hdr = wire::ipfix::header;
        store_be16(p + hdr::kVersion, wire::ipfix::kVersion);
        store_be16(p + hdr::kLength, static_cast<std::uint16_t>(used_));
        store_be32(p + hdr::kExportTime, static_cast<std::uint32_t>(secs));
        store_be32(p + hdr::kSequence, h.sequence);
        store_be32(p + hdr::kObservationDomain, h.domain);
    } else {
        namespace hdr = wire::v9::header;
        store_be16(p + hdr::kVersion, wire::v9::kVersion);
        store_be16(p + hdr::kCount, static_cast<std::uint16_t>(record_count_));
        store_be32(p + hdr::kSysUptime,
                   static_cast<std::uint32_t>(std::max<std::int64_t>(secs * 1000 - boot_ms_, 0)));
        store_be32(p + hdr::kUnixSecs, static_cast<std::uint32_t>(secs));
        store_be32(p + hdr::kSequence, h.sequence);
        store_be32(p + hdr::kSourceId, h.domain);
    }
    return used_;
}

}  // namespace spanflow
