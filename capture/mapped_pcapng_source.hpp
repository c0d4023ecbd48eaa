// The pcapng reader (draft-ietf-opsawg-pcapng), memory-mapped like the classic-pcap reader: each
// view points into the mapping, so no packet is copied.
//
// It reads the whole format: section header blocks in either byte order, and any number of
// sections in one file, each with its own byte order and interfaces; interface description blocks
// each with its own link type, snaplen, if_tsresol (a power of ten or of two) and if_tsoffset;
// enhanced, simple and obsolete packet blocks; every other block (name resolution, interface
// statistics, decryption secrets, custom, and types yet to come) skipped by its length. Each
// packet is decoded with its own interface's link type (PacketView::link), so a file that dumpcap
// wrote while capturing on several interfaces of different types is read whole, where libpcap
// stops at the first interface whose link type or snaplen differs from the first one's.
//
// Where libpcap reads a file too, this reader hands out the same packets, lengths and times, and
// stops at the same damaged block with libpcap's words (sf-pcapng.c); the tests read every pcapng
// capture with both. Beyond libpcap: packets on an interface of a link type decode does not read
// are counted (CaptureStats::skipped_link_type) and the replay goes on; a file whose interfaces
// before its first packet are all of such types is refused at open, naming the first one. Times
// are exact for every resolution (libpcap's 64-bit arithmetic overflows above 2^-34 s).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "capture/file_source_common.hpp"
#include "capture/mapped_file.hpp"

namespace spanflow {

class MappedPcapngSource : public FileSourceCommon {
  public:
    // Maps `path` and reads it up to its first interface description block. Returns null with
    // `error` left empty when the file is not a pcapng file this reader can map (another reader
    // takes it), and null with `error` set to one line when it is pcapng and cannot be read.
    [[nodiscard]] static std::unique_ptr<MappedPcapngSource> open(const std::string& path,
                                                                  std::uint32_t ifindex,
                                                                  std::string& error);

    // The CaptureSource interface (capture/source.hpp): up to kBatchSize packets that the filter
    // keeps (packets, end or error; never empty). Views stay valid until the next poll.
    [[nodiscard]] PollStatus poll(PacketBatch& batch);
    // The file as it is mapped: every view lies inside it (the fuzz targets check that).
    [[nodiscard]] std::span<const std::uint8_t> mapping() const {
        return {file_->data(), file_->size()};
    }

  private:
    // How an interface's timestamps become nanoseconds since 1970.
    struct TimeScale {
        enum class Kind : std::uint8_t { multiply, shift, divide } kind{Kind::multiply};
        std::uint64_t factor{1000};  // units -> ns: * factor, * 1e9 >> factor, or / factor
        std::int64_t offset_s{0};    // if_tsoffset
    };
    struct Interface {
        LinkType link{};
        bool readable{false};      // decode reads its link type
        bool filter_ready{false};  // the filter has a program for its link type
        int dlt{-1};               // libpcap's number for the link type (the filter's)
        std::uint32_t linktype{0};
        std::uint32_t snapshot{0};  // the snaplen as libpcap adjusts it
        TimeScale time;
    };
    // Where a batch started: after a cut it is read again from here (capture/mapped_file.hpp).
    struct Position {
        std::size_t offset;
        std::uint64_t read, bad_time, other_link;
        std::size_t interfaces, section_first;
        bool big_endian;
    };
    enum class Step : std::uint8_t { full, end, damaged, byte_order_changed };

    MappedPcapngSource(LinkType link, int dlt, std::uint32_t ifindex)
        : FileSourceCommon(link, dlt, ifindex) {}
    [[nodiscard]] Position position() const;
    void go_back(const Position& p);
    // Appends packets to `batch` until it is full, the file ends, a block is damaged (`damage_`
    // says why), or a section in the other byte order begins.
    template <bool kBigEndian>
    Step read_blocks(PacketBatch& batch);
    [[nodiscard]] PollStatus read_batch(PacketBatch& batch);
    // A block's header and trailer: its length, or false with damage_ set.
    template <bool kBigEndian>
    bool check_block(std::size_t at, std::uint32_t& length);
    // The section header block at `at` (its own byte order): false with damage_ set.
    bool start_section(std::size_t at, std::uint32_t& length);
    // The interface description block whose body is [body, body + bytes): false with damage_ set.
    template <bool kBigEndian>
    bool add_interface(const std::uint8_t* body, std::size_t bytes);

    std::unique_ptr<MappedFile> file_;
    const std::uint8_t* map_{nullptr};
    std::size_t map_bytes_{0};  // the file's size, or less once it was cut while read
    std::size_t offset_{0};     // of the next block; stays on a damaged one
    bool big_endian_{false};    // of the current section
    // The current section's interfaces from section_first_ on; earlier ones belong to sections
    // that ended in the batch being read, and are let go at the next.
    std::vector<Interface> interfaces_;
    std::size_t section_first_{0};
    std::string damage_;
};

}  // namespace spanflow
