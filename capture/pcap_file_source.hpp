// Replays a capture file (pcap or pcapng, any byte order, micro- or nanosecond timestamps) and
// hands its packets out in batches.
//
// Two readers sit behind one interface, chosen once at open:
//
//   mapped   classic pcap (magic 0xa1b2c3d4 or 0xa1b23c4d, either byte order, version 2.4, a link
//            type decode reads) in a regular file. The file is mmap()ed and read in place: a
//            record costs a few loads and bounds checks, and each view points into the mapping,
//            so no packet is copied. pcap_next_ex() costs 4-10 times as much per record (stdio,
//            a copy into libpcap's buffer, then our copy into the batch arena; bench/README.md).
//   libpcap  everything else: pcapng, a pipe or "-" (nothing to map), a file mmap() refuses,
//            old versions (2.0-2.3 and DG/UX 543.0, whose length fields may come swapped), the
//            Kuznetzov record layout, byte-swapped LINUX_SLL, LINUX_SLL2 and NFLOG (libpcap
//            rewrites host-order fields inside those packets), and every header libpcap rejects, so
//            that its own words explain why.
//
// The mapped reader matches libpcap 1.10 record for record: the same packets, lengths, times and
// the same error text at the same record (sf-pcap.c, pcap_next_packet()). Tests read every
// capture with both. One limit libpcap does not have: a file truncated by another process while
// it is mapped raises SIGBUS; a replayed capture is not expected to change underneath.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "capture/packet_filter.hpp"
#include "capture/source.hpp"
#include "probe/core/link_type.hpp"
#include "probe/core/packet_view.hpp"

struct pcap;  // libpcap's handle, kept out of this header

namespace spanflow {

// Which code reads the file (see the top of this file).
enum class PcapReader : std::uint8_t {
    mapped,   // as a request: map the file when it allows it, else libpcap
    libpcap,  // as a request: libpcap for every file (tests compare the two readers)
};

class PcapFileSource {
  public:
    // Opens `path`. On failure returns null and sets `error` to one line: why it cannot be read,
    // or which link type it has that decode does not understand.
    [[nodiscard]] static std::unique_ptr<PcapFileSource> open(const std::string& path,
                                                              std::uint32_t ifindex,
                                                              std::string& error,
                                                              PcapReader want = PcapReader::mapped);
    ~PcapFileSource();
    PcapFileSource(const PcapFileSource&) = delete;
    PcapFileSource& operator=(const PcapFileSource&) = delete;

    // The CaptureSource interface (capture/source.hpp). poll() fills `batch` with up to
    // kBatchSize records that the filter keeps (packets, end or error; never empty). Views stay
    // valid until the next poll; release() has nothing to give back.
    [[nodiscard]] PollStatus poll(PacketBatch& batch);
    void release(const PacketBatch&) {}
    [[nodiscard]] CaptureStats stats() const;

    // Keeps only the records `filter` accepts, from the next poll on (compiled for datalink()).
    void set_filter(PacketFilter filter) { filter_ = std::move(filter); }

    [[nodiscard]] LinkType link_type() const { return link_; }
    [[nodiscard]] int datalink() const { return dlt_; }
    [[nodiscard]] PcapReader reader() const {
        return map_ != nullptr ? PcapReader::mapped : PcapReader::libpcap;
    }
    // After ReadStatus::error: libpcap's words, and the 1-based number of the damaged record.
    [[nodiscard]] const std::string& error() const { return error_; }
    [[nodiscard]] std::uint64_t packets_read() const { return packets_read_; }
    // Records skipped because their time is out of range (before 1970 or after 2242).
    [[nodiscard]] std::uint64_t packets_bad_time() const { return packets_bad_time_; }

  private:
    PcapFileSource(LinkType link, int dlt, std::uint32_t ifindex);
    static std::unique_ptr<PcapFileSource> open_mapped(const std::string& path,
                                                       std::uint32_t ifindex);
    static std::unique_ptr<PcapFileSource> open_libpcap(const std::string& path,
                                                        std::uint32_t ifindex, std::string& error);

    PollStatus next_batch(PacketBatch& batch);
    PollStatus next_batch_libpcap(PacketBatch& batch);
    template <bool kBigEndian>
    PollStatus next_batch_mapped(PacketBatch& batch);
    // A record too long for the fast path (cut to the snaplen, or damaged) or cut short: libpcap's
    // words for the damage, or an empty string and `keep` set to the bytes to hand out.
    [[nodiscard]] std::string check_record(std::uint32_t caplen, std::size_t present,
                                           std::uint32_t& keep) const;
    PollStatus fail(const std::string& why);

    LinkType link_;
    int dlt_;
    std::uint32_t ifindex_;
    std::uint64_t packets_read_{0};
    std::uint64_t packets_bad_time_{0};
    std::uint64_t packets_filtered_{0};
    std::string error_;
    PacketFilter filter_;

    // libpcap reader
    pcap* handle_{nullptr};
    std::unique_ptr<std::uint8_t[]> arena_;  // packet bytes of the current batch

    // mapped reader
    const std::uint8_t* map_{nullptr};
    std::size_t map_bytes_{0};
    std::size_t offset_{0};    // of the next record header; stays on a damaged one
    std::size_t released_{0};  // the mapping before this is given back (page-aligned)
    bool big_endian_{false};
    std::uint32_t frac_to_ns_{1};   // 1000 for microsecond files
    std::uint32_t snapshot_{0};     // the header's snaplen as libpcap adjusts it
    std::uint32_t fast_caplen_{0};  // records up to this long need no check_record()
};

// The libpcap DLT value -> LinkType, or false when decode does not read that link type.
[[nodiscard]] bool link_type_from_dlt(int dlt, LinkType& out);

}  // namespace spanflow
