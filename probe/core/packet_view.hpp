// What a capture source hands to decode: views of packets it owns, in batches, so that every later
// stage works on a batch at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "probe/core/link_type.hpp"
#include "probe/core/timestamp.hpp"

namespace spanflow {

struct PacketView {
    const std::uint8_t* data{nullptr};
    std::uint32_t captured_bytes{0};  // bytes present at data
    std::uint32_t wire_bytes{0};      // length on the wire, before any snaplen cut
    Timestamp ts{};
    // The clock this packet arrived at, stamped by the capture loop before decode (replay: the
    // newest packet time so far, PacketClock::stamp; live: the wall clock). Decode copies it.
    Timestamp clock{};
    std::uint32_t ifindex{0};
    // The framing of this packet, for decode: a pcapng file's interfaces each have their own.
    // Sources whose packets are all Ethernet (AF_XDP, DPDK) leave the default.
    LinkType link{LinkType::ethernet};
};

// 32 packets per batch: large enough to amortize per-batch work and let prefetches overlap,
// small enough that the batch's headers stay in L1 while it is processed.
inline constexpr std::size_t kBatchSize = 32;

struct PacketBatch {
    std::array<PacketView, kBatchSize> packets{};
    std::size_t count{0};
};

}  // namespace spanflow
