#include "capture/pcap_file_source.hpp"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>

#include "probe/core/byte_order.hpp"

namespace spanflow {
namespace {
// libpcap's MAXIMUM_SNAPLEN, its max_snaplen_for_dlt() for every link type decode reads: it
// never hands out a record above it, so an arena of one such record per batch slot always holds
// a full batch without a size check per packet.
constexpr std::uint32_t kMaxRecordBytes = 262144;
// Packet times past 2^33 s (the year 2242) are damage, not time: they are counted and skipped.
constexpr std::uint64_t kMaxSeconds = std::uint64_t{1} << 33;

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

bool link_type_from_dlt(int dlt, LinkType& out) {
    switch (dlt) {
        case DLT_EN10MB:
            out = LinkType::ethernet;
            return true;
        case DLT_LINUX_SLL:
            out = LinkType::linux_sll;
            return true;
        case DLT_LINUX_SLL2:
            out = LinkType::linux_sll2;
            return true;
        case DLT_RAW:
            out = LinkType::raw_ip;
            return true;
        case DLT_IPV4:
            out = LinkType::raw_ipv4;
            return true;
        case DLT_IPV6:
            out = LinkType::raw_ipv6;
            return true;
        case DLT_NULL:
            out = LinkType::bsd_null;
            return true;
        case DLT_LOOP:
            out = LinkType::bsd_loop;
            return true;
        case DLT_PPP:
            out = LinkType::ppp;
            return true;
        case DLT_C_HDLC:
            out = LinkType::cisco_hdlc;
            return true;
        case DLT_NFLOG:
            out = LinkType::nflog;
            return true;
        default:
            return false;
    }
}

std::unique_ptr<PcapFileSource> PcapFileSource::open(const std::string& path, std::uint32_t ifindex,
                                                     std::string& error, PcapReader want) {
    if (want == PcapReader::mapped) {
        if (auto source = open_mapped(path, ifindex)) return source;
    }
    return open_libpcap(path, ifindex, error);
}

std::unique_ptr<PcapFileSource> PcapFileSource::open_mapped(const std::string& path,
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

    std::unique_ptr<PcapFileSource> source(new PcapFileSource(header.link, header.dlt, ifindex));
    source->map_ = base;
    source->map_bytes_ = bytes;
    source->offset_ = kFileHeaderBytes;
    source->big_endian_ = header.big_endian;
    source->frac_to_ns_ = header.nanoseconds ? 1 : 1000;
    source->snapshot_ = header.snapshot;
    source->fast_caplen_ = std::min(header.snapshot, kMaxRecordBytes);
    return source;
}

std::unique_ptr<PcapFileSource> PcapFileSource::open_libpcap(const std::string& path,
                                                             std::uint32_t ifindex,
                                                             std::string& error) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* handle =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (handle == nullptr) {
        error = std::string("cannot read capture: ") + errbuf;
        return nullptr;
    }
    int dlt = pcap_datalink(handle);
    LinkType link{};
    if (!link_type_from_dlt(dlt, link)) {
        const char* name = pcap_datalink_val_to_name(dlt);
        std::string which = "DLT " + std::to_string(dlt);
        if (name != nullptr) which = std::string(name) + " (" + which + ")";
        error = "unsupported link type " + which +
                "; spanflow reads EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP, "
                "PPP, C_HDLC and NFLOG";
        pcap_close(handle);
        return nullptr;
    }
    std::unique_ptr<PcapFileSource> source(new PcapFileSource(link, dlt, ifindex));
    source->handle_ = handle;
    source->arena_ = std::make_unique<std::uint8_t[]>(kBatchSize * kMaxRecordBytes);
    return source;
}

PcapFileSource::PcapFileSource(LinkType link, int dlt, std::uint32_t ifindex)
    : link_(link), dlt_(dlt), ifindex_(ifindex) {}

PcapFileSource::~PcapFileSource() {
    if (handle_ != nullptr) pcap_close(handle_);
    if (map_ != nullptr) ::munmap(const_cast<std::uint8_t*>(map_), map_bytes_);
}

PollStatus PcapFileSource::poll(PacketBatch& batch) {
    PollStatus status = next_batch(batch);
    packets_filtered_ += filter_.apply(batch);
    return status;
}

CaptureStats PcapFileSource::stats() const {
    CaptureStats s;
    s.received = packets_read_;
    s.skipped_bad_time = packets_bad_time_;
    s.filtered_out = packets_filtered_;
    return s;
}

PollStatus PcapFileSource::next_batch(PacketBatch& batch) {
    if (map_ == nullptr) return next_batch_libpcap(batch);
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
    return big_endian_ ? next_batch_mapped<true>(batch) : next_batch_mapped<false>(batch);
}

PollStatus PcapFileSource::fail(const std::string& why) {
    error_ = "packet " + std::to_string(packets_read_ + 1) + ": " + why;
    return PollStatus::error;
}

PollStatus PcapFileSource::next_batch_libpcap(PacketBatch& batch) {
    batch.count = 0;
    std::uint8_t* free_space = arena_.get();
    while (batch.count < kBatchSize) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        int rc = pcap_next_ex(handle_, &hdr, &data);
        if (rc == PCAP_ERROR_BREAK) return PollStatus::end;
        if (rc != 1) return fail(pcap_geterr(handle_));
        ++packets_read_;
        // pcapng carries 64-bit times: a damaged one could overflow nanoseconds since 1970.
        if (static_cast<std::uint64_t>(hdr->ts.tv_sec) > kMaxSeconds) {
            ++packets_bad_time_;
            continue;
        }
        // libpcap reuses its buffer on the next call, so the batch keeps its own copy.
        std::uint32_t caplen = std::min<std::uint32_t>(hdr->caplen, kMaxRecordBytes);
        std::memcpy(free_space, data, caplen);
        PacketView& v = batch.packets[batch.count++];
        v.data = free_space;
        v.captured_bytes = caplen;
        v.wire_bytes = hdr->len;
        // Opened with nanosecond precision: tv_usec holds nanoseconds. A fraction of a second
        // of 1e9 or more (seen in damaged captures) carries into the seconds.
        v.ts = Timestamp::from_sec_frac(hdr->ts.tv_sec, hdr->ts.tv_usec);
        v.ifindex = ifindex_;
        free_space += caplen;
    }
    return PollStatus::packets;
}

std::string PcapFileSource::check_record(std::uint32_t caplen, std::size_t present,
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
PollStatus PcapFileSource::next_batch_mapped(PacketBatch& batch) {
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
        if (static_cast<std::uint64_t>(std::int64_t{sec}) > kMaxSeconds) [[unlikely]] {
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
