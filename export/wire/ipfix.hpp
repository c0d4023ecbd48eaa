// IPFIX wire layout (RFC 7011) and the information elements spanflow uses (RFC 7012, IANA
// "IPFIX Information Elements"): offsets, set ids and element numbers only. The encoder
// (export/) and spanflow-collect's decoder each use these constants with their own logic.
//
//  message header, 16 bytes            set header, 4 bytes         template record header
//   0 version = 10   2 length           0 set id   2 length          0 template id  2 field count
//   4 export time (s since epoch)       set id 2: templates          options template record header
//   8 sequence number                   set id 3: options templates  0 id  2 field count
//  12 observation domain id             set id >= 256: data          4 scope field count
//
//  field specifier: 0 element id (bit 15 = enterprise)  2 length (65535 = variable)
//                   [4 enterprise number, when bit 15 is set]
#pragma once

#include <cstddef>
#include <cstdint>

namespace spanflow::wire::ipfix {

inline constexpr std::uint16_t kVersion = 10;
inline constexpr std::size_t kHeaderBytes = 16;
inline constexpr std::size_t kSetHeaderBytes = 4;
inline constexpr std::size_t kMaxMessageBytes = 65535;  // the length field is 16 bits

namespace header {
inline constexpr std::size_t kVersion = 0;
inline constexpr std::size_t kLength = 2;
inline constexpr std::size_t kExportTime = 4;
inline constexpr std::size_t kSequence = 8;
inline constexpr std::size_t kObservationDomain = 12;
}  // namespace header

inline constexpr std::size_t kTemplateRecordHeaderBytes = 4;         // id, field count
inline constexpr std::size_t kOptionsTemplateRecordHeaderBytes = 6;  // and scope field count
inline constexpr std::size_t kFieldSpecifierBytes = 4;               // element id, length
inline constexpr std::size_t kEnterpriseNumberBytes = 4;             // after an enterprise field

inline constexpr std::uint16_t kTemplateSetId = 2;
inline constexpr std::uint16_t kOptionsTemplateSetId = 3;
inline constexpr std::uint16_t kMinDataSetId = 256;

inline constexpr std::uint16_t kEnterpriseBit = 0x8000;
inline constexpr std::uint16_t kVariableLength = 65535;
// A variable-length field's length (RFC 7011 section 7): one byte, or this marker and two bytes.
inline constexpr std::uint8_t kLongVariableLengthMarker = 255;
// Set-header template ids that, with a field count of 0, withdraw all templates of the set's kind
// (RFC 7011 section 8.1).
inline constexpr std::uint16_t kWithdrawAllTemplatesId = 2;
inline constexpr std::uint16_t kWithdrawAllOptionsTemplatesId = 3;

// Information elements (IANA numbers; the same numbers as NetFlow v9 field types below 128).
namespace ie {
inline constexpr std::uint16_t kOctetDeltaCount = 1;
inline constexpr std::uint16_t kPacketDeltaCount = 2;
inline constexpr std::uint16_t kProtocolIdentifier = 4;
inline constexpr std::uint16_t kIpClassOfService = 5;
inline constexpr std::uint16_t kTcpControlBits = 6;
inline constexpr std::uint16_t kSourceTransportPort = 7;
inline constexpr std::uint16_t kSourceIPv4Address = 8;
inline constexpr std::uint16_t kIngressInterface = 10;
inline constexpr std::uint16_t kDestinationTransportPort = 11;
inline constexpr std::uint16_t kDestinationIPv4Address = 12;
inline constexpr std::uint16_t kEgressInterface = 14;
inline constexpr std::uint16_t kFlowEndSysUpTime = 21;    // v9 LAST_SWITCHED
inline constexpr std::uint16_t kFlowStartSysUpTime = 22;  // v9 FIRST_SWITCHED
inline constexpr std::uint16_t kSourceIPv6Address = 27;
inline constexpr std::uint16_t kDestinationIPv6Address = 28;
inline constexpr std::uint16_t kIcmpTypeCodeIPv4 = 32;   // v9 ICMP_TYPE: type * 256 + code
inline constexpr std::uint16_t kSamplingInterval = 34;   // v9 SAMPLING_INTERVAL
inline constexpr std::uint16_t kSamplingAlgorithm = 35;  // v9 SAMPLING_ALGORITHM
inline constexpr std::uint16_t kExportedMessageTotalCount = 41;
inline constexpr std::uint16_t kExportedFlowRecordTotalCount = 42;
inline constexpr std::uint16_t kSourceMacAddress = 56;
inline constexpr std::uint16_t kVlanId = 58;
inline constexpr std::uint16_t kIpVersion = 60;
inline constexpr std::uint16_t kDestinationMacAddress = 80;
inline constexpr std::uint16_t kFlowEndReason = 136;
inline constexpr std::uint16_t kIcmpTypeCodeIPv6 = 139;
inline constexpr std::uint16_t kObservationDomainId = 149;
inline constexpr std::uint16_t kFlowStartSeconds = 150;
inline constexpr std::uint16_t kFlowEndSeconds = 151;
inline constexpr std::uint16_t kFlowStartMilliseconds = 152;
inline constexpr std::uint16_t kFlowEndMilliseconds = 153;
inline constexpr std::uint16_t kFlowStartMicroseconds = 154;  // NTP format (RFC 7011 6.1.9)
inline constexpr std::uint16_t kFlowEndMicroseconds = 155;
inline constexpr std::uint16_t kFlowStartNanoseconds = 156;  // NTP format (RFC 7011 6.1.10)
inline constexpr std::uint16_t kFlowEndNanoseconds = 157;
inline constexpr std::uint16_t kSystemInitTimeMilliseconds = 160;
inline constexpr std::uint16_t kSelectorAlgorithm = 304;
inline constexpr std::uint16_t kSamplingPacketInterval = 305;
inline constexpr std::uint16_t kSamplingPacketSpace = 306;
}  // namespace ie

// selectorAlgorithm (IANA "IPFIX Packet Selection Method"): 1 = systematic count-based sampling;
// with interval 1 and space 0 it says "every packet".
inline constexpr std::uint16_t kSelectorSystematicCount = 1;

}  // namespace spanflow::wire::ipfix
