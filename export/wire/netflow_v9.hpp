// NetFlow v9 wire layout (RFC 3954): offsets and FlowSet ids only. Field types are the IPFIX
// element numbers below 128 (export/wire/ipfix.hpp, namespace ie), which RFC 7012 took from v9.
//
//  packet header, 20 bytes               FlowSet header, 4 bytes
//   0 version = 9     2 count             0 FlowSet id   2 length (padding included)
//   4 sysUptime (ms since boot)          FlowSet id 0: templates   (template id, field count,
//   8 unix secs                                                     then type/length pairs)
//  12 sequence (packets sent before)     FlowSet id 1: options templates (template id, scope
//  16 source id                                  length in bytes, option length in bytes,
//                                                 scope type/length pairs, option type/length)
//                                        FlowSet id >= 256: data
// `count` is the number of records in the packet: templates, options templates and data records.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spanflow::wire::v9 {

inline constexpr std::uint16_t kVersion = 9;
inline constexpr std::size_t kHeaderBytes = 20;
inline constexpr std::size_t kFlowSetHeaderBytes = 4;
// FlowSets are padded to a multiple of this many bytes (RFC 3954 section 5.3, "SHOULD").
inline constexpr std::size_t kFlowSetAlignment = 4;

namespace header {
inline constexpr std::size_t kVersion = 0;
inline constexpr std::size_t kCount = 2;
inline constexpr std::size_t kSysUptime = 4;
inline constexpr std::size_t kUnixSecs = 8;
inline constexpr std::size_t kSequence = 12;
inline constexpr std::size_t kSourceId = 16;
}  // namespace header

inline constexpr std::size_t kTemplateHeaderBytes = 4;         // template id, field count
inline constexpr std::size_t kOptionsTemplateHeaderBytes = 6;  // id, scope length, option length
inline constexpr std::size_t kFieldBytes = 4;                  // field type, length

inline constexpr std::uint16_t kTemplateFlowSetId = 0;
inline constexpr std::uint16_t kOptionsTemplateFlowSetId = 1;
inline constexpr std::uint16_t kMinDataFlowSetId = 256;

// Options scope field types (RFC 3954 section 6.2).
inline constexpr std::uint16_t kScopeSystem = 1;

// SAMPLING_ALGORITHM values: 1 = deterministic (every Nth packet); with interval 1, every packet.
inline constexpr std::uint8_t kSamplingDeterministic = 1;

}  // namespace spanflow::wire::v9
