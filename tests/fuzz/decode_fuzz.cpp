// Decode on any bytes, for every link type: the first byte picks the link type, the rest is the
// packet. Beyond not crashing: the fast path and the general walk must agree on every packet (as
// the decode unit test checks on mutated frames), and an accepted packet's fields must be
// possible ones.
#include <cstring>

#include "fuzz_input.hpp"
#include "probe/decode/decoder.hpp"

using spanflow::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto link = static_cast<spanflow::LinkType>(data[0] % spanflow::kLinkTypeCount);
    spanflow::PacketView v;
    v.data = data + 1;
    v.captured_bytes = static_cast<std::uint32_t>(size - 1);
    v.wire_bytes = v.captured_bytes + (size > 1 ? data[1] : 0u);
    v.ts = spanflow::Timestamp::from_ns(1'700'000'000'000'000'000);
    v.ifindex = 3;
    v.link = link;
    spanflow::PacketMeta fast;
    spanflow::PacketMeta walk;
    std::memset(static_cast<void*>(&fast), 0xA5, sizeof fast);
    const spanflow::DecodeReason a = spanflow::decode_packet(link, v, fast);
    const spanflow::DecodeReason b = spanflow::decode_packet_walk(link, v, walk);
    require(a == b, "the fast path and the walk give different reasons");
    if (a != spanflow::DecodeReason::ok) return 0;
    require(std::memcmp(&fast.key, &walk.key, sizeof fast.key) == 0, "keys differ");
    require(fast.l3_bytes == walk.l3_bytes && fast.tcp_flags == walk.tcp_flags &&
                fast.has_vlan == walk.has_vlan && fast.vlan_id == walk.vlan_id &&
                fast.has_src_mac == walk.has_src_mac && fast.has_dst_mac == walk.has_dst_mac &&
                fast.ts == walk.ts,
            "fields differ");
    require(walk.key.ifindex == 3, "the view's ifindex is the key's");
    require(walk.vlan_id <= 0x0FFF, "a VLAN id has 12 bits");
    require(walk.l3_bytes >= 20, "an IP packet is at least its header");
    // Decode is a pure function of the bytes: the same packet again, the same answer.
    spanflow::Decoder decoder;
    spanflow::PacketBatch batch;
    batch.packets[0] = v;
    batch.count = 1;
    spanflow::PacketMeta out[spanflow::kBatchSize];
    require(decoder.decode_batch(batch, out) == 1, "the batch path rejects what decode accepts");
    require(std::memcmp(&out[0].key, &walk.key, sizeof walk.key) == 0, "batch key differs");
    return 0;
}
