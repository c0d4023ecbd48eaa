// Decode: a packet view -> PacketMeta, or the reason it carries no countable IP packet.
// It walks link, VLAN, MPLS and PPPoE headers to the outer IP header and reads the IOS seven-tuple,
// the layer-3 length and TCP flags exactly as SEMANTICS.md defines them. Every read is checked
// against the captured length; nothing allocates, throws or logs.
#pragma once

#include <cstddef>

#include "probe/core/link_type.hpp"
#include "probe/core/packet_meta.hpp"
#include "probe/core/packet_view.hpp"
#include "probe/decode/decode_reason.hpp"

namespace spanflow {

// Decodes one packet. On DecodeReason::ok, `out` holds the packet's key (ifindex from the view),
// length, flags, VLAN, MACs and timestamp; otherwise `out` is unspecified.
[[nodiscard]] DecodeReason decode_packet(LinkType link, const PacketView& pkt, PacketMeta& out);
// The same without the straight-line path for Ethernet/IPv4/TCP|UDP: the general header walk
// alone, which the fast path must always agree with (the tests compare them).
[[nodiscard]] DecodeReason decode_packet_walk(LinkType link, const PacketView& pkt,
                                              PacketMeta& out);

class Decoder {
  public:
    // Decodes a batch into `out` (room for kBatchSize), each packet with its view's link type.
    // Each PacketMeta takes its view's time and arrival clock as they are: decode reads no clock
    // and knows no time policy.
    // Returns how many PacketMetas were written.
    std::size_t decode_batch(const PacketBatch& batch, PacketMeta* out);

    [[nodiscard]] const DecodeStats& stats() const { return stats_; }

  private:
    DecodeStats stats_{};
};

}  // namespace spanflow
