// The mapped reader: classic pcap (magic 0xa1b2c3d4 or 0xa1b23c4d, either byte order, version
// 2.4, a link type decode reads) in a regular file. The file is mmap()ed and read in place: a
// record costs a few loads and bounds checks, and each view points into the mapping, so no packet
// is copied. pcap_next_ex() costs 4-10 times as much per record (stdio, a copy into libpcap's
// buffer, then a copy into the batch arena; bench/README.md).
//
// It matches libpcap 1.10 record for record: the same packets, lengths, times and the same error
// text at the same record (sf-pcap.c, pcap_next_packet()); the tests read every capture with both
// readers. A file cut short by another process while it is mapped ends the replay with an error at
// the first record not wholly there (capture/mapped_file.hpp), never with SIGBUS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "capture/file_source_common.hpp"
#include "capture/mapped_file.hpp"

namespace spanflow {

class MappedPcapSource : public FileSourceCommon {
  public:
    // Maps `path`, or returns null when the file is not one this reader takes (libpcap then
    // reads it, or says why it cannot).
    [[nodiscard]] static std::unique_ptr<MappedPcapSource> open(const std::string& path,
                                                                std::uint32_t ifindex);

    // The CaptureSource interface (capture/source.hpp): up to kBatchSize records that the filter
    // keeps (packets, end or error; never empty). Views stay valid until the next poll.
    [[nodiscard]] PollStatus poll(PacketBatch& batch);
    // The file as it is mapped: every view lies inside it (the fuzz targets check that).
    [[nodiscard]] std::span<const std::uint8_t> mapping() const {
        return {file_->data(), file_->size()};
    }

  private:
    MappedPcapSource(LinkType link, int dlt, std::uint32_t ifindex)
        : FileSourceCommon(link, dlt, ifindex) {}
    template <bool kBigEndian>
    PollStatus next_batch(PacketBatch& batch);
    // A record too long for the fast path (cut to the snaplen, or damaged) or cut short: libpcap's
    // words for the damage, or an empty string and `keep` set to the bytes to hand out.
    [[nodiscard]] std::string check_record(std::uint32_t caplen, std::size_t present,
                                           std::uint32_t& keep) const;

    std::unique_ptr<MappedFile> file_;
    const std::uint8_t* map_{nullptr};
    std::size_t map_bytes_{0};  // the file's size, or less once it was cut while read
    std::size_t offset_{0};     // of the next record header; stays on a damaged one
    bool big_endian_{false};
    std::uint32_t frac_to_ns_{1};   // 1000 for microsecond files
    std::uint32_t snapshot_{0};     // the header's snaplen as libpcap adjusts it
    std::uint32_t fast_caplen_{0};  // records up to this long need no check_record()
};

}  // namespace spanflow
