#include "capture/mapped_pcap_source.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <bit>
#include <climits>

#include "probe/core/byte_order.hpp"

namespace spanflow {
namespace {
// Classic pcap layout (pcap-savefile(5)): a 24-byte file header, then per record 16 bytes
// (seconds, fraction, captured length, wire length) and the captured bytes.
constexpr std::size_t kFileHeaderBytes = 24;
constexpr std::size_t kRecordHeaderBytes = 16;
constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNano = 0xa1b23c4d;
// The header fields the mapped reader takes; other versions go to libpcap.
constexpr std::uint16_t kVersionMajor = 2;
constexpr std::uint16_t kVersionMinor = 4;
// The top 6 bits of the link type field carry extra information (the FCS length); libpcap's
// LT_LINKTYPE() keeps the low 26 bits as the link type and hands the packets out unchanged.
constexpr std::uint32_t kLinkTypeMask = 0x03FFFFFF;
// The mapped reader touches the file this far ahead of the record it reads, so that the next
// page's translation and first lines are on their way before it gets there (the hardware
// prefetcher stops at page ends). bench/pcap_read_bench.cpp, 64-byte packets: no prefetch 9.1 ms
// per 1M packets, 2-4 KiB ahead 6.0-6.5 ms, 8-16 KiB 7.1-7.3 ms.
constexpr std::size_t kPrefetchBytes = 4096;

// What the mapped reader needs from a classic pcap file header.
struct ClassicHeader {
    bool big_endian{false};
    bool nanoseconds{false};
    int dlt{0};
    LinkType link{};
    std::uint32_t snapshot{0};
};

// False when the header is not one the mapped reader takes (libpcap then reads the file, or says
// why it cannot).
bool parse_classic_header(const std::uint8_t* p, ClassicHeader& out) {
    // The magic read little-endian: written by a big-endian host it shows byte-swapped.
    const std::uint32_t magic = load_le32(p);
    if (magic == kMagicMicro || magic == kMagicNano) {
        out.big_endian = false;
    } else if (load_be32(p) == kMagicMicro || load_be32(p) == kMagicNano) {
        out.big_endian = true;
    } else {
        return false;
    }
    out.nanoseconds = (out.big_endian ? load_be32(p) : magic) == kMagicNano;
    auto u16 = [&](std::size_t at) {
        return out.big_endian ? load_be16(p + at) : load_le16(p + at);
    };
    auto u32 = [&](std::size_t at) {
        return out.big_endian ? load_be32(p + at) : load_le32(p + at);
    };
    if (u16(4) != kVersionMajor || u16(6) != kVersionMinor) return false;
    out.dlt = dlt_from_linktype(u32(20) & kLinkTypeMask);
    if (out.dlt < 0 || !link_type_from_dlt(out.dlt, out.link)) return false;
    // Written on a host of the other byte order, these link types carry host-order fields inside
    // the packet, which libpcap swaps in its copy (swap_pseudo_headers()); a mapping is read-only.
    bool swapped = out.big_endian != (std::endian::native == std::endian::big);
    if (swapped && (out.dlt == DLT_LINUX_SLL || out.dlt == DLT_LINUX_SLL2 || out.dlt == DLT_NFLOG))
        return false;
    // pcap_adjust_snapshot(): a snaplen of 0 or above INT_MAX means the link type's maximum.
    std::uint32_t snaplen = u32(16);
    out.snapshot = (snaplen == 0 || snaplen > INT_MAX) ? kMaxRecordBytes : snaplen;
    return true;
}

std::string caplen_text(std::uint32_t wanted, std::size_t got) {
    return "truncated dump file; tried to read " + std::to_string(wanted) +
           " captured bytes, only got " + std::to_string(got);
}

}  // namespace

std::unique_ptr<MappedPcapSource> MappedPcapSource::open(const std::string& path,
                                                         std::uint32_t ifindex) {
    auto file = MappedFile::open(path, kFileHeaderBytes);
    if (!file) return nullptr;
    ClassicHeader header;
    if (!parse_classic_header(file->data(), header)) return nullptr;
    std::unique_ptr<MappedPcapSource> source(
        new MappedPcapSource(header.link, header.dlt, ifindex));
    source->map_ = file->data();
    source->map_bytes_ = file->size();
    source->file_ = std::move(file);
    source->offset_ = kFileHeaderBytes;
    source->big_endian_ = header.big_endian;
    source->frac_to_ns_ = header.nanoseconds ? 1 : 1000;
    source->snapshot_ = header.snapshot;
    source->fast_caplen_ = std::min(header.snapshot, kMaxRecordBytes);
    return source;
}

PollStatus MappedPcapSource::poll(PacketBatch& batch) {
    // The previous batch's views are no longer in use.
    file_->release_before(offset_);
    const std::size_t offset = offset_;
    const std::uint64_t read = packets_read_;
    const std::uint64_t bad_time = packets_bad_time_;
    PollStatus status = big_endian_ ? next_batch<true>(batch) : next_batch<false>(batch);
    if (status != PollStatus::packets) (void)file_->shrank();
    if (file_->cut()) [[unlikely]] {
        // A read faulted past the file's end: this batch again, within what is still there.
        const std::size_t readable = file_->readable_bytes();
        if (readable < map_bytes_) {
            map_bytes_ = readable;
            offset_ = offset;
            packets_read_ = read;
            packets_bad_time_ = bad_time;
            batch.count = 0;
            // Past the cut already when the cut lay in the page read before, whose rest read as
            // zeros without a fault: the error then names the packet after them.
            status = offset_ > map_bytes_ ? PollStatus::end
                     : big_endian_        ? next_batch<true>(batch)
                                          : next_batch<false>(batch);
        }
        if (status != PollStatus::packets) status = fail(cut_text(readable));
    }
    return filtered(status, batch);
}

std::string MappedPcapSource::check_record(std::uint32_t caplen, std::size_t present,
                                           std::uint32_t& keep) const {
    // libpcap's order of checks and its words (pcap_next_packet()). A record above the maximum
    // is damage; one above the snaplen alone is cut to it (old Solaris wrote such files), and the
    // rest of its bytes must still be present.
    if (caplen > kMaxRecordBytes) {
        return "invalid packet capture length " + std::to_string(caplen) + ", bigger than " +
               (caplen > snapshot_ ? "snaplen of " + std::to_string(snapshot_)
                                   : "maximum of " + std::to_string(kMaxRecordBytes));
    }
    if (caplen > snapshot_) {
        if (present < snapshot_) return caplen_text(snapshot_, present);
        keep = snapshot_;
    }
    if (present < caplen) return caplen_text(caplen, present);
    return {};
}

template <bool kBigEndian>
PollStatus MappedPcapSource::next_batch(PacketBatch& batch) {
    auto u32 = [](const std::uint8_t* p) { return kBigEndian ? load_be32(p) : load_le32(p); };
    constexpr bool kSwapped = kBigEndian != (std::endian::native == std::endian::big);
    // Members copied to locals and written back at the end: each store into the batch might alias
    // them as far as the compiler knows, so it would reload and store them for every record.
    const std::uint8_t* const map = map_;
    const std::size_t map_bytes = map_bytes_;
    const std::uint32_t fast_caplen = fast_caplen_;
    const std::int64_t frac_to_ns = frac_to_ns_;
    const std::uint32_t ifindex = ifindex_;
    const LinkType link = link_;
    std::size_t at = offset_;
    std::uint64_t read = packets_read_;
    std::uint64_t bad_time = packets_bad_time_;
    std::size_t count = 0;
    std::string damage;
    while (count < kBatchSize) {
        const std::size_t left = map_bytes - at;
        if (left < kRecordHeaderBytes) [[unlikely]] {
            if (left != 0) {
                damage = "truncated dump file; tried to read " +
                         std::to_string(kRecordHeaderBytes) + " header bytes, only got " +
                         std::to_string(left);
            }
            break;
        }
        const std::uint8_t* record = map + at;
        __builtin_prefetch(map + std::min(at + kPrefetchBytes, map_bytes - 1));
        const std::uint32_t caplen = u32(record + 8);
        // A header of zeros: maybe the rest of a page past a cut, which reads as zeros without a
        // fault. poll() reads the batch again within what is left, if so.
        if (caplen == 0 && u32(record) == 0 && u32(record + 4) == 0 && u32(record + 12) == 0)
            [[unlikely]] {
            if (file_->shrank()) break;
        }
        std::uint32_t keep = caplen;
        if (caplen > fast_caplen || caplen > left - kRecordHeaderBytes) [[unlikely]] {
            damage = check_record(caplen, left - kRecordHeaderBytes, keep);
            if (!damage.empty()) break;
        }
        // The record's last byte, read here so that a file cut short while mapped faults (and is
        // found, capture/mapped_file.hpp) before the batch is handed out. It shares a line with
        // the next record's header, which is read next anyway.
        if (caplen != 0) touch(record + kRecordHeaderBytes + caplen - 1);
        at += kRecordHeaderBytes + caplen;
        ++read;
        // The file's fields are signed 32-bit (struct pcap_timeval), as libpcap reads them in a
        // file of this host's byte order: a time from 2038 on is before 1970 and skipped, like
        // libpcap's negative tv_sec. Byte-swapped, libpcap's SWAPLONG() makes them unsigned: 2038
        // to 2106, and a fraction from 2^31 on a large positive one.
        const std::int64_t sec = kSwapped ? std::int64_t{u32(record)}
                                          : std::int64_t{static_cast<std::int32_t>(u32(record))};
        if (static_cast<std::uint64_t>(sec) > kMaxRecordSeconds) [[unlikely]] {
            ++bad_time;
            continue;
        }
        const std::int64_t frac = kSwapped
                                      ? std::int64_t{u32(record + 4)}
                                      : std::int64_t{static_cast<std::int32_t>(u32(record + 4))};
        PacketView& v = batch.packets[count++];
        v.data = record + kRecordHeaderBytes;
        v.captured_bytes = keep;
        // As libpcap hands it out, even below the captured length.
        v.wire_bytes = u32(record + 12);
        // A fraction of 1e9 ns or more carries into the seconds, as in the libpcap reader.
        v.ts = Timestamp::from_sec_frac(sec, frac * frac_to_ns);
        v.ifindex = ifindex;
        v.link = link;
    }
    offset_ = at;  // a damaged record stays next: every later call reports it again
    packets_read_ = read;
    packets_bad_time_ = bad_time;
    batch.count = count;
    if (!damage.empty()) return fail(damage);
    return count == kBatchSize ? PollStatus::packets : PollStatus::end;
}

}  // namespace spanflow
