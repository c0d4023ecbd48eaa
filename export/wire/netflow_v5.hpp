// NetFlow v5 wire layout (Cisco, "NetFlow Export Datagram Format", version 5): field offsets and
// sizes only. The encoder (export/) and spanflow-collect's decoder each use these constants with
// their own logic, so a wrong offset cannot hide behind a shared mistake in both directions.
//
//  header, 24 bytes                          record, 48 bytes
//   0 version = 5        2 count (1..30)      0 srcaddr    4 dstaddr    8 nexthop
//   4 sys_uptime (ms)                        12 input     14 output    16 dPkts     20 dOctets
//   8 unix_secs         12 unix_nsecs        24 First (sysUptime ms)   28 Last (sysUptime ms)
//  16 flow_sequence                          32 srcport   34 dstport   36 pad1      37 tcp_flags
//  20 engine_type  21 engine_id              38 prot      39 tos       40 src_as    42 dst_as
//  22 sampling_interval                      44 src_mask  45 dst_mask  46 pad2
#pragma once

#include <cstddef>
#include <cstdint>

namespace spanflow::wire::v5 {

inline constexpr std::uint16_t kVersion = 5;
inline constexpr std::size_t kHeaderBytes = 24;
inline constexpr std::size_t kRecordBytes = 48;
inline constexpr std::size_t kMaxRecords = 30;  // the format's own limit per datagram
inline constexpr std::size_t kMaxDatagramBytes = kHeaderBytes + kMaxRecords * kRecordBytes;

namespace header {
inline constexpr std::size_t kVersion = 0;
inline constexpr std::size_t kCount = 2;
inline constexpr std::size_t kSysUptime = 4;
inline constexpr std::size_t kUnixSecs = 8;
inline constexpr std::size_t kUnixNsecs = 12;
inline constexpr std::size_t kFlowSequence = 16;
inline constexpr std::size_t kEngineType = 20;
inline constexpr std::size_t kEngineId = 21;
inline constexpr std::size_t kSamplingInterval = 22;
}  // namespace header

namespace record {
inline constexpr std::size_t kSrcAddr = 0;
inline constexpr std::size_t kDstAddr = 4;
inline constexpr std::size_t kNextHop = 8;
inline constexpr std::size_t kInput = 12;
inline constexpr std::size_t kOutput = 14;
inline constexpr std::size_t kPackets = 16;
inline constexpr std::size_t kOctets = 20;
inline constexpr std::size_t kFirst = 24;
inline constexpr std::size_t kLast = 28;
inline constexpr std::size_t kSrcPort = 32;
inline constexpr std::size_t kDstPort = 34;
inline constexpr std::size_t kPad1 = 36;
inline constexpr std::size_t kTcpFlags = 37;
inline constexpr std::size_t kProtocol = 38;
inline constexpr std::size_t kTos = 39;
inline constexpr std::size_t kSrcAs = 40;
inline constexpr std::size_t kDstAs = 42;
inline constexpr std::size_t kSrcMask = 44;
inline constexpr std::size_t kDstMask = 45;
inline constexpr std::size_t kPad2 = 46;
}  // namespace record

// The largest value a 32-bit counter field (dPkts, dOctets) can carry; the flow table ends a flow
// before either would pass it (SEMANTICS.md: a format's counter must never wrap).
inline constexpr std::uint64_t kMaxCounter = 0xFFFF'FFFFull;
// Input/output interface fields are 16 bits wide.
inline constexpr std::uint32_t kMaxIfIndex = 0xFFFF;

}  // namespace spanflow::wire::v5
