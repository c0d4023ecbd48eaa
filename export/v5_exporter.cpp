#include "export/v5_exporter.hpp"

#include <algorithm>

namespace spanflow {

std::size_t V5Exporter::records_per_datagram(std::size_t max_datagram_bytes) {
    if (max_datagram_bytes < wire::v5::kHeaderBytes + wire::v5::kRecordBytes) return 1;
    return std::min(wire::v5::kMaxRecords,
                    (max_datagram_bytes - wire::v5::kHeaderBytes) / wire::v5::kRecordBytes);
}

V5Exporter::V5Exporter(UdpTransport& transport, std::uint8_t engine_type, std::uint8_t engine_id,
                       std::size_t max_datagram_bytes, Duration max_hold)
    : transport_(transport),
      max_hold_(max_hold),
      max_records_(records_per_datagram(max_datagram_bytes)) {
    header_.engine_type = engine_type;
    header_.engine_id = engine_id;
}

void V5Exporter::set_boot_time(Timestamp t) {
    uptime_.set(t);
    header_.boot_time = uptime_.boot();
}

void V5Exporter::add(const FlowRecord& r, Timestamp now) {
    if (r.key.is_ipv6()) {
        ++stats_.ipv6_skipped;
        return;
    }
    if (pending_count_ > 0 &&
        (std::max(pending_last_, r.last) - std::min(pending_first_, r.first)).count() / 1'000'000 >=
            UptimeOrigin::kWindowMs) {
        send(now);
    }
    if (pending_count_ == 0) {
        oldest_pending_ = now;
        pending_first_ = r.first;
        pending_last_ = r.last;
    }
    pending_first_ = std::min(pending_first_, r.first);
    pending_last_ = std::max(pending_last_, r.last);
    pending_[pending_count_++] = r;
    if (pending_count_ == max_records_) send(now);
}

void V5Exporter::poll(Timestamp now) {
    if (pending_count_ > 0 && now - oldest_pending_ >= max_hold_) send(now);
}

void V5Exporter::flush(Timestamp now) {
    if (pending_count_ > 0) send(now);
}

void V5Exporter::send(Timestamp now) {
    if (!uptime_.fits(pending_first_, std::max(now, pending_last_))) {
        set_boot_time(pending_first_);
        ++stats_.uptime_rebased;
    }
    // In replay the header carries the packet clock, unless that lies beyond the window (a
    // capture that jumped back in time by more than 49 days): then the flows' own latest end.
    header_.export_time = uptime_.fits(pending_first_, now) ? now : pending_last_;
    std::size_t len =
        encode_v5(header_, std::span<const FlowRecord>(pending_.data(), pending_count_), datagram_);
    transport_.send(std::span<const std::uint8_t>(datagram_.data(), len));
    header_.flow_sequence += static_cast<std::uint32_t>(pending_count_);
    stats_.records += pending_count_;
    ++stats_.datagrams;
    pending_count_ = 0;
}

}  // namespace spanflow
