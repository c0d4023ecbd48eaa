// Replays a capture file (pcap or pcapng, any byte order, micro- or nanosecond timestamps) through
// libpcap and hands its packets out in batches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "probe/core/link_type.hpp"
#include "probe/core/packet_view.hpp"

struct pcap;  // libpcap's handle, kept out of this header

namespace spanflow {

enum class ReadStatus : std::uint8_t {
    ok,     // a batch was read and more may follow
    end,    // the file ended cleanly; the batch holds the last packets (maybe none)
    error,  // the file is damaged here; the batch holds the packets read before the damage
};

class PcapFileSource {
  public:
    // Opens `path`. On failure returns null and sets `error` to one line: why it cannot be read,
    // or which link type it has that decode does not understand.
    [[nodiscard]] static std::unique_ptr<PcapFileSource> open(const std::string& path,
                                                              std::uint32_t ifindex,
                                                              std::string& error);
    ~PcapFileSource();
    PcapFileSource(const PcapFileSource&) = delete;
    PcapFileSource& operator=(const PcapFileSource&) = delete;

    // Fills `batch` with up to kBatchSize packets. Views stay valid until the next call.
    [[nodiscard]] ReadStatus next_batch(PacketBatch& batch);

    [[nodiscard]] LinkType link_type() const { return link_; }
    [[nodiscard]] int datalink() const { return dlt_; }
    // After ReadStatus::error: libpcap's words, and the 1-based number of the damaged record.
    [[nodiscard]] const std::string& error() const { return error_; }
    [[nodiscard]] std::uint64_t packets_read() const { return packets_read_; }
    // Records skipped because their time is out of range (before 1970 or after 2242).
    [[nodiscard]] std::uint64_t packets_bad_time() const { return packets_bad_time_; }

  private:
    PcapFileSource(pcap* handle, LinkType link, int dlt, std::uint32_t ifindex);

    pcap* handle_;
    LinkType link_;
    int dlt_;
    std::uint32_t ifindex_;
    std::uint64_t packets_read_{0};
    std::uint64_t packets_bad_time_{0};
    std::string error_;
    std::unique_ptr<std::uint8_t[]> arena_;  // packet bytes of the current batch
};

// The libpcap DLT value -> LinkType, or false when decode does not read that link type.
[[nodiscard]] bool link_type_from_dlt(int dlt, LinkType& out);

}  // namespace spanflow
