// What the two capture-file sources share: the link type, the counters, the capture filter and
// the words of a damaged record, and libpcap's limits both readers keep to.
#pragma once

#include <cstdint>
#include <string>

#include "capture/link_numbers.hpp"
#include "capture/packet_filter.hpp"
#include "capture/source.hpp"
#include "probe/core/link_type.hpp"
#include "probe/core/packet_view.hpp"

namespace spanflow {

// libpcap's MAXIMUM_SNAPLEN, its max_snaplen_for_dlt() for every link type decode reads: it never
// hands out a record above it, so an arena of one such record per batch slot always holds a full
// batch without a size check per packet.
inline constexpr std::uint32_t kMaxRecordBytes = 262144;
// Packet times past 2^33 s (the year 2242) are damage, not time: they are counted and skipped.
inline constexpr std::uint64_t kMaxRecordSeconds = std::uint64_t{1} << 33;

class FileSourceCommon {
  public:
    void release(const PacketBatch&) {}  // views point into the mapping or the arena: nothing
    [[nodiscard]] LinkType link_type() const { return link_; }
    [[nodiscard]] int datalink() const { return dlt_; }
    [[nodiscard]] CaptureStats stats() const;
    // After PollStatus::error: libpcap's words, and the 1-based number of the damaged record.
    [[nodiscard]] const std::string& error() const { return error_; }
    [[nodiscard]] std::uint64_t packets_read() const { return packets_read_; }
    // Records skipped because their time is out of range (before 1970 or after 2242).
    [[nodiscard]] std::uint64_t packets_bad_time() const { return packets_bad_time_; }
    // Keeps only the records `filter` accepts, from the next poll on (compiled for datalink()).
    void set_filter(PacketFilter filter) { filter_ = std::move(filter); }

  protected:
    FileSourceCommon(LinkType link, int dlt, std::uint32_t ifindex)
        : link_(link), dlt_(dlt), ifindex_(ifindex) {}
    PollStatus fail(const std::string& why);
    // The capture filter on a batch just read.
    PollStatus filtered(PollStatus status, PacketBatch& batch) {
        packets_filtered_ += filter_.apply(batch);
        return status;
    }

    LinkType link_;
    int dlt_;
    std::uint32_t ifindex_;
    std::uint64_t packets_read_{0};
    std::uint64_t packets_bad_time_{0};
    std::uint64_t packets_other_link_{0};  // pcapng: on an interface decode cannot read
    std::uint64_t packets_filtered_{0};
    std::string error_;
    PacketFilter filter_;
};

}  // namespace spanflow
