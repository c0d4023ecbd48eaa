#include "export/v5_exporter.hpp"

namespace spanflow {

V5Exporter::V5Exporter(UdpTransport& transport, std::uint8_t engine_type, std::uint8_t engine_id)
    : transport_(transport) {
    header_.engine_type = engine_type;
    header_.engine_id = engine_id;
}

void V5Exporter::set_boot_time(Timestamp t) {
    header_.boot_time = Timestamp::from_sec_frac(t.sec(), 0);
}

void V5Exporter::add(const FlowRecord& r, Timestamp now) {
    if (r.key.is_ipv6()) {
        ++stats_.ipv6_skipped;
        return;
    }
    if (pending_count_ == 0) oldest_pending_ = now;
    pending_[pending_count_++] = r;
    if (pending_count_ == pending_.size()) send(now);
}

void V5Exporter::poll(Timestamp now) {
    if (pending_count_ > 0 && now - oldest_pending_ >= kMaxHold) send(now);
}

void V5Exporter::flush(Timestamp now) {
    if (pending_count_ > 0) send(now);
}

void V5Exporter::send(Timestamp now) {
    header_.export_time = now;
    std::size_t len =
        encode_v5(header_, std::span<const FlowRecord>(pending_.data(), pending_count_), datagram_);
    transport_.send(std::span<const std::uint8_t>(datagram_.data(), len));
    header_.flow_sequence += static_cast<std::uint32_t>(pending_count_);
    stats_.records += pending_count_;
    ++stats_.datagrams;
    pending_count_ = 0;
}

}  // namespace spanflow
