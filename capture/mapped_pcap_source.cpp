#include "capture/mapped_pcap_source.hpp"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

// The LINKTYPE_ values of the file format -> libpcap's DLT_ values (linktype_to_dlt()), for the
// link types decode reads (they differ for RAW, and on OpenBSD for LOOP). Any other value goes
// to libpcap, which knows older aliases and names the link types decode does not read.
int dlt_from_linktype(std::uint32_t linktype) {
    switch (linktype) {
        case 0:
            return DLT_NULL;
        case 1:
            return DLT_EN10MB;
        case 9:
            return DLT_PPP;
        case 101:
            return DLT_RAW;
        case 104:
            return DLT_C_HDLC;
        case 108:
            return DLT_LOOP;
        case 113:
            return DLT_LINUX_SLL;
        case 228:
            return DLT_IPV4;
        case 229:
            return DLT_IPV6;
        case 239:
            return DLT_NFLOG;
        case 276:
            return DLT_LINUX_SLL2;
        default:
            return -1;
    }
}

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
    // "-" is standard input to libpcap. Only regular files can be mapped; a FIFO is never opened
    // here, since closing it again could cost its writer a SIGPIPE before libpcap reopens it.
    struct stat st {};
    if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    // Checked again on the descriptor: the path may name something else by now.
    bool mappable = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                    static_cast<std::uint64_t>(st.st_size) >= kFileHeaderBytes;
    std::size_t bytes = mappable ? static_cast<std::size_t>(st.st_size) : 0;
    void* map = mappable ? ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    ::close(fd);  // the mapping holds the file
    if (map == MAP_FAILED) return nullptr;

    const auto* base = static_cast<const std::uint8_t*>(map);
    ClassicHeader header;
    if (!parse_classic_header(base, header)) {
        ::munmap(map, bytes);
        return nullptr;
    }
    // Each byte is read once, front to back: read ahead in large steps, and let the pages behind
    // the reader go first when memory is short. Only advice; the file reads the same without it.
    (void)::madvise(map, bytes, MADV_SEQUENTIAL);

    std::unique_ptr<MappedPcapSource> source(
        new MappedPcapSource(header.link, header.dlt, ifindex));
    source->map_ = base;
    source->map_bytes_ = bytes;
    source->offset_ = kFileHeaderBytes;
    source->big_endian_ = header.big_endian;
    source->frac_to_ns_ = header.nanoseconds ? 1 : 1000;
    source->snapshot_ = header.snapshot;
    source->fast_caplen_ = std::min(header.snapshot, kMaxRecordBytes);
    return source;
}

MappedPcapSource::~MappedPcapSource() {
    if (map_ != nullptr) ::munmap(const_cast<std::uint8_t*>(map_), map_bytes_);
}

PollStatus MappedPcapSource::poll(PacketBatch& batch) {
    // The previous batch's views are no longer in use: hand the pages read so far back, in
    // 32 MiB steps, so that the mapped file does not show as resident memory of its whole size
    // (the pages stay in the page cache; only this process's mapping of them goes).
    constexpr std::size_t kReleaseBytes = std::size_t{32} << 20;
    if (offset_ - released_ >= kReleaseBytes) {
        const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        const std::size_t upto = offset_ / page * page;
        (void)::madvise(const_cast<std::uint8_t*>(map_) + released_, upto - released_,
                        MADV_DONTNEED);
        released_ = upto;
    }
    return filtered(big_endian_ ? next_batch<true>(batch) : next_batch<false>(batch), batch);
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
    // Members copied to locals and written back at the end: each store into the batch might alias
    // them as far as the compiler knows, so it would reload and store them for every record.
    const std::uint8_t* const map = map_;
    const std::size_t map_bytes = map_bytes_;
    const std::uint32_t fast_caplen = fast_caplen_;
    const std::int64_t frac_to_ns = frac_to_ns_;
    const std::uint32_t ifindex = ifindex_;
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
        std::uint32_t keep = caplen;
        if (caplen > fast_caplen || caplen > left - kRecordHeaderBytes) [[unlikely]] {
            damage = check_record(caplen, left - kRecordHeaderBytes, keep);
            if (!damage.empty()) break;
        }
        at += kRecordHeaderBytes + caplen;
        ++read;
        // The file's fields are signed 32-bit (struct pcap_timeval), as libpcap reads them: a
        // time from 2038 on is before 1970 and skipped, like libpcap's negative tv_sec.
        const auto sec = static_cast<std::int32_t>(u32(record));
        if (static_cast<std::uint64_t>(std::int64_t{sec}) > kMaxRecordSeconds) [[unlikely]] {
            ++bad_time;
            continue;
        }
        const auto frac = static_cast<std::int32_t>(u32(record + 4));
        PacketView& v = batch.packets[count++];
        v.data = record + kRecordHeaderBytes;
        v.captured_bytes = keep;
        // As libpcap hands it out, even below the captured length.
        v.wire_bytes = u32(record + 12);
        // A fraction of 1e9 ns or more carries into the seconds, as in the libpcap reader.
        v.ts = Timestamp::from_sec_frac(sec, frac * frac_to_ns);
        v.ifindex = ifindex;
    }
    offset_ = at;  // a damaged record stays next: every later call reports it again
    packets_read_ = read;
    packets_bad_time_ = bad_time;
    batch.count = count;
    if (!damage.empty()) return fail(damage);
    return count == kBatchSize ? PollStatus::packets : PollStatus::end;
}

}  // namespace spanflow
