#include "export/collector/datagram_decoder.hpp"

#include <algorithm>

#include "export/collector/v5_decoder.hpp"
#include "export/wire/ipfix.hpp"
#include "export/wire/netflow_v5.hpp"
#include "export/wire/netflow_v9.hpp"
#include "probe/core/byte_order.hpp"

namespace spanflow::collector {

namespace v9 = wire::v9;
namespace ipfix = wire::ipfix;

namespace {

// Every version shares only this: a 16-bit version number at offset 0.
constexpr std::size_t kVersionFieldBytes = 2;
// Both formats' record lengths are 16-bit quantities.
constexpr std::size_t kMaxRecordBytes = 65535;
// Set headers are the same 4 bytes in both formats: id, then length with the header included.
static_assert(v9::kFlowSetHeaderBytes == ipfix::kSetHeaderBytes);
constexpr std::size_t kSetHeaderBytes = ipfix::kSetHeaderBytes;

// Padding octets are zero (RFC 7011 section 3.3.1, RFC 3954 section 5.3); trailing zeros that
// could be neither a template nor a withdrawal are padding, not a malformed record.
bool is_padding(std::span<const std::uint8_t> rest) {
    return std::all_of(rest.begin(), rest.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

struct DatagramDecoder::Message {
    TemplateKey stream;  // exporter, version, domain; template_id set per use
    RecordContext context;
    Clock::time_point now;
    DatagramHeader& header;
    DecodedFlows& flows;
    std::uint32_t data_records{0};  // flow and options data records, held sets excluded
    DecodeStatus status{DecodeStatus::ok};

    [[nodiscard]] bool ipfix() const { return stream.version == ipfix::kVersion; }
    // The datagram is counted under the first problem met.
    void note(DecodeStatus s) {
        if (status == DecodeStatus::ok) status = s;
    }
    [[nodiscard]] TemplateKey key(std::uint16_t template_id) const {
        TemplateKey k = stream;
        k.template_id = template_id;
        return k;
    }
};

DecodeStatus DatagramDecoder::decode(std::span<const std::uint8_t> datagram,
                                     const Endpoint& exporter, Clock::time_point now,
                                     DatagramHeader& header, DecodedFlows& flows) {
    // Expire first, so that a template arriving late cannot release sets already past their time.
    expire(now);
    if (datagram.size() < kVersionFieldBytes) return DecodeStatus::too_short;
    const std::uint16_t version = load_be16(datagram.data());
    Message m{TemplateKey{exporter, version, 0, 0}, RecordContext{}, now, header, flows};
    switch (version) {
        case wire::v5::kVersion:
            return decode_v5(datagram, header, flows);
        case v9::kVersion:
            return decode_v9(datagram, m);
        case ipfix::kVersion:
            return decode_ipfix(datagram, m);
        default:
            return DecodeStatus::unsupported_version;
    }
}

void DatagramDecoder::expire(Clock::time_point now) {
    counters_.expired_sets += held_.expire(now);
}

DecodeStatus DatagramDecoder::decode_v9(std::span<const std::uint8_t> datagram, Message& m) {
    if (datagram.size() < v9::kHeaderBytes) return DecodeStatus::too_short;
    const std::uint8_t* h = datagram.data();
    m.stream.domain = load_be32(h + v9::header::kSourceId);
    m.context.export_ms = std::int64_t{load_be32(h + v9::header::kUnixSecs)} * 1000;
    m.context.sys_uptime_ms = load_be32(h + v9::header::kSysUptime);
    m.context.has_sys_uptime = true;
    // The header count (templates plus data records) is not checked: exporters disagree on what
    // it counts, and every set carries its own length anyway.
    m.header.version = v9::kVersion;
    m.header.sequence = load_be32(h + v9::header::kSequence);
    m.header.sequence_increment = 1;  // v9 counts export datagrams, whatever they hold
    m.header.domain = m.stream.domain;
    return decode_sets(datagram.subspan(v9::kHeaderBytes), m);
}

DecodeStatus DatagramDecoder::decode_ipfix(std::span<const std::uint8_t> datagram, Message& m) {
    if (datagram.size() < ipfix::kHeaderBytes) return DecodeStatus::too_short;
    const std::uint8_t* h = datagram.data();
    if (load_be16(h + ipfix::header::kLength) != datagram.size())
        return DecodeStatus::length_mismatch;
    m.stream.domain = load_be32(h + ipfix::header::kObservationDomain);
    m.context.export_ms = std::int64_t{load_be32(h + ipfix::header::kExportTime)} * 1000;
    m.header.version = ipfix::kVersion;
    m.header.sequence = load_be32(h + ipfix::header::kSequence);
    m.header.domain = m.stream.domain;
    const DecodeStatus status = decode_sets(datagram.subspan(ipfix::kHeaderBytes), m);
    // The IPFIX sequence counts every data record, options records included (RFC 7011 section
    // 3.1): the increment is the data records decoded here. A set left undecoded (no template
    // yet, or malformed) holds an unknown number of them, so the tracker resynchronizes on the
    // next message instead of counting loss.
    m.header.sequence_increment = m.data_records;
    if (status != DecodeStatus::ok) m.header.increment_unknown = true;
    return status;
}

DecodeStatus DatagramDecoder::decode_sets(std::span<const std::uint8_t> sets, Message& m) {
    const bool ipfix = m.ipfix();
    const std::uint16_t template_set = ipfix ? ipfix::kTemplateSetId : v9::kTemplateFlowSetId;
    const std::uint16_t options_set =
        ipfix ? ipfix::kOptionsTemplateSetId : v9::kOptionsTemplateFlowSetId;
    std::size_t offset = 0;
    while (offset < sets.size()) {
        const std::size_t left = sets.size() - offset;
        if (left < kSetHeaderBytes) {
            // An IPFIX message is exactly its sets; a v9 packet may end in padding.
            if (ipfix || !is_padding(sets.subspan(offset))) m.note(DecodeStatus::bad_set_length);
            break;
        }
        const std::uint8_t* s = sets.data() + offset;
        const std::uint16_t id = load_be16(s);
        const std::size_t length = load_be16(s + 2);
        // Without a sound length the next set cannot be found: the rest of the datagram is lost,
        // what came before it stays decoded.
        if (length < kSetHeaderBytes || length > left) {
            m.note(DecodeStatus::bad_set_length);
            break;
        }
        const auto body = sets.subspan(offset + kSetHeaderBytes, length - kSetHeaderBytes);
        if (id == template_set) {
            m.note(decode_template_set(body, false, m));
        } else if (id == options_set) {
            m.note(ipfix ? decode_template_set(body, true, m)
                         : decode_v9_options_template_set(body, m));
        } else if (id >= ipfix::kMinDataSetId) {
            decode_data_set_of(id, body, m);
        } else {
            m.note(DecodeStatus::unknown_set_id);  // reserved: skipped by its length
        }
        offset += length;
    }
    return m.status;
}

namespace {

// Reads `count` field specifiers from body[offset..] into `t`, advancing `offset`. IPFIX fields
// may be enterprise-specific (a 4-byte enterprise number follows) or variable-length.
DecodeStatus parse_fields(std::span<const std::uint8_t> body, std::size_t& offset,
                          std::size_t count, bool ipfix, Template& t) {
    t.fields.clear();
    t.min_record_bytes = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (body.size() - offset < ipfix::kFieldSpecifierBytes) return DecodeStatus::bad_template;
        const std::uint16_t raw_id = load_be16(body.data() + offset);
        const std::uint16_t length = load_be16(body.data() + offset + 2);
        offset += ipfix::kFieldSpecifierBytes;
        TemplateField f{raw_id, length, 0, false};
        if (ipfix && (raw_id & ipfix::kEnterpriseBit) != 0) {
            if (body.size() - offset < ipfix::kEnterpriseNumberBytes)
                return DecodeStatus::bad_template;
            f.id = raw_id & ~ipfix::kEnterpriseBit;
            f.enterprise = load_be32(body.data() + offset);
            offset += ipfix::kEnterpriseNumberBytes;
        }
        f.variable = ipfix && length == ipfix::kVariableLength;
        t.min_record_bytes += f.variable ? 1 : length;
        if (t.min_record_bytes > kMaxRecordBytes) return DecodeStatus::bad_template;
        t.fields.push_back(f);
    }
    // A record of 0 bytes would never end a set.
    return t.min_record_bytes == 0 ? DecodeStatus::bad_template : DecodeStatus::ok;
}

}  // namespace

DecodeStatus DatagramDecoder::decode_template_set(std::span<const std::uint8_t> body, bool options,
                                                  Message& m) {
    const bool ipfix = m.ipfix();
    std::size_t offset = 0;
    while (body.size() - offset >= ipfix::kTemplateRecordHeaderBytes) {
        const std::uint8_t* r = body.data() + offset;
        const std::uint16_t id = load_be16(r);
        const std::uint16_t field_count = load_be16(r + 2);
        if (id == 0 && is_padding(body.subspan(offset))) break;
        if (field_count == 0) {
            // IPFIX withdrawal (RFC 7011 section 8.1); v9 has none, so no fields is an error.
            if (!ipfix) return DecodeStatus::bad_template;
            const std::uint16_t withdraw_all =
                options ? ipfix::kWithdrawAllOptionsTemplatesId : ipfix::kWithdrawAllTemplatesId;
            if (id == withdraw_all) {
                templates_.withdraw_all(m.stream, options);
            } else if (id >= ipfix::kMinDataSetId) {
                templates_.withdraw(m.key(id));
            } else {
                return DecodeStatus::bad_template;
            }
            offset += ipfix::kTemplateRecordHeaderBytes;
            continue;
        }
        if (id < ipfix::kMinDataSetId) return DecodeStatus::bad_template;
        offset += ipfix::kTemplateRecordHeaderBytes;
        if (options) {
            static constexpr std::size_t kScopeCountBytes =
                ipfix::kOptionsTemplateRecordHeaderBytes - ipfix::kTemplateRecordHeaderBytes;
            if (body.size() - offset < kScopeCountBytes) return DecodeStatus::bad_template;
            const std::uint16_t scope_count = load_be16(body.data() + offset);
            offset += kScopeCountBytes;
            if (scope_count == 0 || scope_count > field_count)
                return DecodeStatus::bad_options_template;
        }
        if (const DecodeStatus s = define(id, options, body, offset, field_count, m);
            s != DecodeStatus::ok)
            return s;
    }
    return DecodeStatus::ok;
}

DecodeStatus DatagramDecoder::decode_v9_options_template_set(std::span<const std::uint8_t> body,
                                                             Message& m) {
    std::size_t offset = 0;
    while (body.size() - offset >= v9::kOptionsTemplateHeaderBytes) {
        const std::uint8_t* r = body.data() + offset;
        const std::uint16_t id = load_be16(r);
        const std::size_t scope_bytes = load_be16(r + 2);
        const std::size_t option_bytes = load_be16(r + 4);
        if (id == 0 && is_padding(body.subspan(offset))) break;
        if (id < v9::kMinDataFlowSetId) return DecodeStatus::bad_template;
        if (scope_bytes == 0 || scope_bytes % v9::kFieldBytes != 0 ||
            option_bytes % v9::kFieldBytes != 0)
            return DecodeStatus::bad_options_template;
        offset += v9::kOptionsTemplateHeaderBytes;
        if (scope_bytes + option_bytes > body.size() - offset) return DecodeStatus::bad_template;
        const std::size_t field_count = (scope_bytes + option_bytes) / v9::kFieldBytes;
        if (const DecodeStatus s = define(id, true, body, offset, field_count, m);
            s != DecodeStatus::ok)
            return s;
    }
    return DecodeStatus::ok;
}

DecodeStatus DatagramDecoder::define(std::uint16_t template_id, bool options,
                                     std::span<const std::uint8_t> body, std::size_t& offset,
                                     std::size_t field_count, Message& m) {
    if (const DecodeStatus s = parse_fields(body, offset, field_count, m.ipfix(), parsed_);
        s != DecodeStatus::ok)
        return s;
    parsed_.options = options;
    const TemplateKey key = m.key(template_id);
    if (!templates_.define(key, parsed_)) {
        ++counters_.refused_templates;
        return DecodeStatus::ok;
    }
    if (!m.ipfix()) return DecodeStatus::ok;  // only IPFIX data is held
    const Template& t = *templates_.find(key);
    // Released records belong to earlier messages, so they stay out of this one's increment. A
    // malformed record in a held set ends that set only; the message that brought it is gone.
    counters_.released_sets += held_.release(key, [&](std::span<const std::uint8_t> body) {
        const DataSetResult r = decode_data_set(t, body, m.context, m.flows);
        if (t.options) counters_.option_records += r.records;
    });
    return DecodeStatus::ok;
}

void DatagramDecoder::decode_data_set_of(std::uint16_t set_id, std::span<const std::uint8_t> body,
                                         Message& m) {
    if (body.empty()) return;  // a set without records: nothing to decode or hold
    const TemplateKey key = m.key(set_id);
    const Template* t = templates_.find(key);
    if (t == nullptr) {
        // v9 data before its template is dropped; IPFIX data is held for the template to come.
        if (!m.ipfix()) {
            ++counters_.no_template_sets;
            return;
        }
        m.header.increment_unknown = true;
        if (held_.hold(key, body, m.now)) {
            ++counters_.held_sets;
        } else {
            ++counters_.overflow_sets;
        }
        return;
    }
    const DataSetResult r = decode_data_set(*t, body, m.context, m.flows);
    if (t->options) counters_.option_records += r.records;
    m.data_records += r.records;
    m.note(r.status);
}

}  // namespace spanflow::collector
