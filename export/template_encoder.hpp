// NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) encoder: builds one export message at a time in the
// caller's buffer. Like the v5 encoder it knows nothing of sockets or clocks: the export time, the
// boot time and the sequence number are arguments.
//
// Templates (the same element order for both formats; v9 sends sysUptime where IPFIX sends
// absolute milliseconds):
//
//   256 IPv4 flows   sourceIPv4Address(8) destinationIPv4Address(12) protocolIdentifier(4)
//   257 IPv6 flows   sourceTransportPort(7) destinationTransportPort(11) ipClassOfService(5)
//                    ingressInterface(10) egressInterface(14) packetDeltaCount(2, 8 bytes)
//                    octetDeltaCount(1, 8 bytes) flowStartMilliseconds(152)
//                    flowEndMilliseconds(153) | v9: FIRST_SWITCHED(22) LAST_SWITCHED(21)
//                    tcpControlBits(6: IPFIX 2 bytes, v9 1) flowEndReason(136) vlanId(58)
//                    sourceMacAddress(56) destinationMacAddress(80) ipVersion(60) [v9 only:
//                    ICMP_TYPE(32)] IPv6 flows use sourceIPv6Address(27) /
//                    destinationIPv6Address(28).
//   258 options      IPFIX: scope observationDomainId(149); selectorAlgorithm(304) = 1,
//                    samplingPacketInterval(305) = 1, samplingPacketSpace(306) = 0 (every packet),
//                    systemInitTimeMilliseconds(160), exportedFlowRecordTotalCount(42),
//                    exportedMessageTotalCount(41).
//                    v9: scope System(1) = source id; SAMPLING_INTERVAL(34) = 1,
//                    SAMPLING_ALGORITHM(35) = 1 (deterministic: every packet).
//
// v9 carries ICMP type and code in ICMP_TYPE as well as in the destination port, because nfdump
// reads them only from ICMP_TYPE in v9 (IPFIX collectors take them from the port, as Cisco does).
// A flow without a VLAN tag exports vlanId 0 and a side without a MAC exports 00:00:00:00:00:00:
// one template per family keeps collectors simple, and 0 is what routers send for "none".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "probe/core/flow_record.hpp"

namespace spanflow {

enum class TemplateFormat : std::uint8_t { v9, ipfix };

inline constexpr std::uint16_t kIpv4TemplateId = 256;
inline constexpr std::uint16_t kIpv6TemplateId = 257;
inline constexpr std::uint16_t kOptionsTemplateId = 258;

// What the options record announces (besides the constant sampling configuration).
struct ExporterOptions {
    Timestamp system_init{};                 // IPFIX systemInitTimeMilliseconds
    std::uint64_t exported_flow_records{0};  // IPFIX: flow records sent before this message
    std::uint64_t exported_messages{0};      // IPFIX: messages sent before this one
};

struct MessageHeader {
    Timestamp export_time{};    // the export clock now: packet time in replay
    std::uint32_t sequence{0};  // v9: datagrams before this one; IPFIX: data records before it
    std::uint32_t domain{0};    // v9 source id / IPFIX observation domain id
};

class TemplateMessageWriter {
  public:
    explicit TemplateMessageWriter(TemplateFormat format) : format_(format) {}

    // Bytes of one flow record, and of the template block (both templates, the options template
    // and, when asked for, its record) that starts a message when templates are due.
    [[nodiscard]] std::size_t record_bytes(bool ipv6) const;
    [[nodiscard]] std::size_t template_block_bytes(bool with_options_record = true) const;
    // The smallest datagram that holds the template block and one IPv6 record: anything smaller
    // could never carry a flow.
    [[nodiscard]] std::size_t min_message_bytes() const;

    // Starts a message in `out` (its size is the datagram limit). `boot_time` is v9's sysUptime 0.
    void begin(std::span<std::uint8_t> out, Timestamp boot_time);
    // Appends the template block; false (and nothing written) if it does not fit.
    bool add_templates(const ExporterOptions& options, std::uint32_t domain,
                       bool with_options_record = true);
    // Appends one flow record, opening a data set for its family when needed; false (nothing
    // written) if it does not fit.
    bool add_record(const FlowRecord& r);
    // Closes the open set, writes the header and returns the message length.
    [[nodiscard]] std::size_t finish(const MessageHeader& header);

    [[nodiscard]] std::size_t flow_records() const { return flow_records_; }
    // Data records of any template: flow records and the options record.
    [[nodiscard]] std::size_t data_records() const { return data_records_; }
    [[nodiscard]] bool empty() const { return flow_records_ == 0 && record_count_ == 0; }

  private:
    [[nodiscard]] std::size_t header_bytes() const;
    [[nodiscard]] std::size_t room() const { return out_.size() - used_; }
    void close_set();
    std::size_t write_template(std::uint8_t* p, bool ipv6) const;

    TemplateFormat format_;
    std::span<std::uint8_t> out_{};
    std::int64_t boot_ms_{0};
    std::size_t used_{0};
    std::size_t set_start_{0};  // offset of the open data set's header; 0: none open
    std::uint16_t set_id_{0};
    std::size_t record_count_{0};  // v9 header count: templates, options and data records
    std::size_t flow_records_{0};
    std::size_t data_records_{0};
};

}  // namespace spanflow
