// A capture filter in tcpdump syntax (pcap-filter(7)), compiled once with libpcap. Live capture
// hands the program to the kernel (pcap_setfilter); a file replay runs the same program on every
// record in user space (pcap_offline_filter), so `-r` and `-i` keep exactly the same packets.
// A pcapng file's interfaces may each have their own link type: the filter then holds one program
// per link type, compiled from the same expression when the first interface of that type shows.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "capture/source.hpp"
#include "probe/core/packet_view.hpp"

struct bpf_program;  // libpcap's, kept out of this header

namespace spanflow {

class PacketFilter {
  public:
    PacketFilter();  // matches everything
    ~PacketFilter();
    PacketFilter(PacketFilter&&) noexcept;
    PacketFilter& operator=(PacketFilter&&) noexcept;

    // Compiles `expression` for link type `dlt` (a DLT_ value decode reads) and snapshot length
    // `snaplen`. An empty expression matches everything. On failure returns false and sets
    // `error` to libpcap's reason.
    [[nodiscard]] bool compile(const std::string& expression, int dlt, int snaplen,
                               std::string& error);
    // The same expression for one more link type, compiled unless it already is (or the filter
    // is empty). On failure returns false and sets `error` to libpcap's reason.
    [[nodiscard]] bool cover(int dlt, std::string& error);

    [[nodiscard]] bool active() const { return !expression_.empty(); }

    // Keeps the views that their link type's program accepts, in order; returns how many it
    // removed.
    std::size_t apply(PacketBatch& batch) const;

  private:
    struct Free {
        void operator()(bpf_program* p) const;
    };
    std::string expression_;
    int snaplen_{0};
    std::array<std::unique_ptr<bpf_program, Free>, kLinkTypeCount> programs_;  // by LinkType
};

// A live batch of `n` packets taken off a ring whose kernel or NIC does not filter (AF_XDP,
// DPDK): counted as received, then filtered here.
inline PollStatus take_batch(PacketBatch& batch, std::size_t n, const PacketFilter& filter,
                             CaptureStats& stats) {
    batch.count = n;
    stats.received += n;
    stats.filtered_out += filter.apply(batch);
    return PollStatus::packets;
}

}  // namespace spanflow
