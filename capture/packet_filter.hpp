// A capture filter in tcpdump syntax (pcap-filter(7)), compiled once with libpcap. Live capture
// hands the program to the kernel (pcap_setfilter); a file replay runs the same program on every
// record in user space (pcap_offline_filter), so `-r` and `-i` keep exactly the same packets.
#pragma once

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

    // Compiles `expression` for link type `dlt` (a DLT_ value) and snapshot length `snaplen`.
    // An empty expression matches everything. On failure returns false and sets `error` to
    // libpcap's reason.
    [[nodiscard]] bool compile(const std::string& expression, int dlt, int snaplen,
                               std::string& error);

    [[nodiscard]] bool active() const { return program_ != nullptr; }
    [[nodiscard]] const bpf_program* program() const { return program_.get(); }

    // Keeps the views the program accepts, in order; returns how many it removed.
    std::size_t apply(PacketBatch& batch) const;

  private:
    struct Free {
        void operator()(bpf_program* p) const;
    };
    std::unique_ptr<bpf_program, Free> program_;
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
