#include "capture/mapped_pcapng_source.hpp"

#include <algorithm>
#include <bit>

#include "probe/core/byte_order.hpp"

namespace spanflow {
namespace {

__extension__ using Int128 = __int128;  // times in any resolution, without overflow

// Block types (draft-ietf-opsawg-pcapng, section 10.1).
constexpr std::uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr std::uint32_t kInterfaceDescription = 1;
constexpr std::uint32_t kObsoletePacket = 2;
constexpr std::uint32_t kSimplePacket = 3;
constexpr std::uint32_t kEnhancedPacket = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
// Options of an interface description block.
constexpr std::uint16_t kOptEnd = 0;
constexpr std::uint16_t kOptTsresol = 9;
constexpr std::uint16_t kOptTsoffset = 14;

constexpr std::size_t kBlockHeaderBytes = 8;   // type, total length
constexpr std::size_t kBlockTrailerBytes = 4;  // total length again
// The fixed parts of the block bodies.
constexpr std::size_t kSectionFixedBytes = 16;  // byte-order magic, version, section length
constexpr std::size_t kInterfaceFixedBytes = 8;
constexpr std::size_t kEnhancedFixedBytes = 20;
constexpr std::size_t kObsoleteFixedBytes = 20;
constexpr std::size_t kSimpleFixedBytes = 4;
// libpcap's limits (sf-pcapng.c): BT_SHB_INSANE_MAX, and INITIAL_MAX_BLOCKSIZE, which it never
// raises for the link types decode reads (their largest EPB is far below it).
constexpr std::uint32_t kMaxSectionHeaderBytes = 1024 * 1024;
constexpr std::uint32_t kMaxBlockBytes = 16 * 1024 * 1024;
constexpr std::uint64_t kNsPerSecond = 1'000'000'000;
// Times from 2^33 + 1 s (the year 2242) on are damage: counted and skipped, as in classic pcap.
constexpr Int128 kEndOfTimeNs = Int128{kMaxRecordSeconds + 1} * kNsPerSecond;

template <bool kBigEndian>
std::uint16_t u16(const std::uint8_t* p) {
    return kBigEndian ? load_be16(p) : load_le16(p);
}
template <bool kBigEndian>
std::uint32_t u32(const std::uint8_t* p) {
    return kBigEndian ? load_be32(p) : load_le32(p);
}

std::string too_short(std::uint32_t type) {
    return "block of type " + std::to_string(type) + " in pcapng dump file is too short";
}

std::string truncated(std::size_t wanted, std::size_t got) {
    return "truncated pcapng dump file; tried to read " + std::to_string(wanted) +
           " bytes, only got " + std::to_string(got);
}

}  // namespace

std::unique_ptr<MappedPcapngSource> MappedPcapngSource::open(const std::string& path,
                                                             std::uint32_t ifindex,
                                                             std::string& error) {
    error.clear();
    auto file = MappedFile::open(path, kBlockHeaderBytes + 4);
    if (!file) return nullptr;
    const std::uint8_t* p = file->data();
    if (load_le32(p) != kSectionHeader) return nullptr;
    bool big_endian = false;
    if (load_be32(p + 8) == kByteOrderMagic) {
        big_endian = true;
    } else if (load_le32(p + 8) != kByteOrderMagic) {
        return nullptr;  // not pcapng after all; libpcap names what it is
    }
    std::unique_ptr<MappedPcapngSource> source(new MappedPcapngSource(LinkType{}, -1, ifindex));
    MappedPcapngSource& s = *source;
    s.map_ = p;
    s.map_bytes_ = file->size();
    s.file_ = std::move(file);
    s.big_endian_ = big_endian;
    auto fail_open = [&](const std::string& why) {
        error = "cannot read capture: " + why;
        return nullptr;
    };

    // The first section header, checked as libpcap checks it (pcap_ng_check_header()).
    const std::uint32_t length = big_endian ? load_be32(p + 4) : load_le32(p + 4);
    constexpr std::size_t kLeast = kBlockHeaderBytes + kSectionFixedBytes + kBlockTrailerBytes;
    if (length < kLeast || length > kMaxSectionHeaderBytes) {
        return fail_open("Section Header Block in pcapng dump file has invalid length " +
                         std::to_string(kLeast) + " < _" + std::to_string(length) + "_ < " +
                         std::to_string(kMaxSectionHeaderBytes) + " (BT_SHB_INSANE_MAX)");
    }
    if (length > s.map_bytes_) return fail_open(truncated(length - 12, s.map_bytes_ - 12));
    const std::uint16_t major = big_endian ? load_be16(p + 12) : load_le16(p + 12);
    const std::uint16_t minor = big_endian ? load_be16(p + 14) : load_le16(p + 14);
    if (major != 1 || (minor != 0 && minor != 2)) {
        return fail_open("unsupported pcapng savefile version " + std::to_string(major) + "." +
                         std::to_string(minor));
    }
    s.offset_ = length;

    // On to the first interface, as libpcap goes; then on to the first packet, for an interface
    // of a link type decode reads, without failing on what lies there (poll() reports it).
    auto walk = [&](bool first) -> bool {
        while (s.offset_ < s.map_bytes_) {
            std::uint32_t block = 0;
            const bool ok = s.big_endian_ ? s.check_block<true>(s.offset_, block)
                                          : s.check_block<false>(s.offset_, block);
            if (!ok) return false;
            const std::uint8_t* b = s.map_ + s.offset_;
            const std::uint32_t type = s.big_endian_ ? load_be32(b) : load_le32(b);
            if (type == kEnhancedPacket || type == kSimplePacket || type == kObsoletePacket) {
                s.damage_ =
                    "the capture file has a packet block before any Interface "
                    "Description Blocks";
                return false;
            }
            if (type == kInterfaceDescription) {
                const bool added = s.big_endian_
                                       ? s.add_interface<true>(b + kBlockHeaderBytes, block - 12)
                                       : s.add_interface<false>(b + kBlockHeaderBytes, block - 12);
                if (!added) return false;
                s.offset_ += block;
                if (first || s.interfaces_.back().readable) return true;
                continue;
            }
            if (!first && type == kSectionHeader) return false;
            s.offset_ += block;
        }
        if (first) s.damage_ = "the capture file has no Interface Description Blocks";
        return false;
    };
    if (!walk(true)) return fail_open(s.damage_);
    const Interface first = s.interfaces_.front();
    // NFLOG from a host of the other byte order: libpcap swaps what decode reads.
    if (first.dlt >= 0 && !first.readable && first.link == LinkType::nflog) return nullptr;
    if (!first.readable) {
        const Position after_first = s.position();
        const bool found = walk(false);
        const Interface readable = s.interfaces_.back();
        s.go_back(after_first);
        s.damage_.clear();
        if (!found) {
            error = unsupported_link_text(first.dlt >= 0 ? first.dlt
                                                         : static_cast<int>(first.linktype));
            return nullptr;
        }
        s.link_ = readable.link;
        s.dlt_ = readable.dlt;
    } else {
        s.link_ = first.link;
        s.dlt_ = first.dlt;
    }
    return source;
}

MappedPcapngSource::Position MappedPcapngSource::position() const {
    return {
        offset_,        packets_read_, packets_bad_time_, packets_other_link_, interfaces_.size(),
        section_first_, big_endian_};
}

void MappedPcapngSource::go_back(const Position& p) {
    offset_ = p.offset;
    packets_read_ = p.read;
    packets_bad_time_ = p.bad_time;
    packets_other_link_ = p.other_link;
    interfaces_.resize(p.interfaces);
    section_first_ = p.section_first;
    big_endian_ = p.big_endian;
}

PollStatus MappedPcapngSource::poll(PacketBatch& batch) {
    // The previous batch's views are no longer in use; nor are the interfaces of sections that
    // ended in it.
    file_->release_before(offset_);
    if (section_first_ != 0) {
        interfaces_.erase(interfaces_.begin(),
                          interfaces_.begin() + static_cast<std::ptrdiff_t>(section_first_));
        section_first_ = 0;
    }
    const Position start = position();
    PollStatus status = read_batch(batch);
    if (status != PollStatus::packets) (void)file_->shrank();
    if (file_->cut()) [[unlikely]] {
        // A read faulted past the file's end: this batch again, within what is still there.
        const std::size_t readable = file_->readable_bytes();
        if (readable < map_bytes_) {
            map_bytes_ = readable;
            go_back(start);
            batch.count = 0;
            // Past the cut already when the cut lay in the page read before, whose rest read as
            // zeros without a fault: the error then names the packet after them.
            status = offset_ <= map_bytes_ ? read_batch(batch) : PollStatus::end;
        }
        if (status != PollStatus::packets) status = fail(cut_text(readable));
    }
    return filtered(status, batch);
}

PollStatus MappedPcapngSource::read_batch(PacketBatch& batch) {
    batch.count = 0;
    for (;;) {
        const Step step = big_endian_ ? read_blocks<true>(batch) : read_blocks<false>(batch);
        switch (step) {
            case Step::full:
                return PollStatus::packets;
            case Step::end:
                return PollStatus::end;
            case Step::damaged:
                return fail(damage_);
            case Step::byte_order_changed:
                break;  // on with the other instance, into the same batch
        }
    }
}

template <bool kBigEndian>
bool MappedPcapngSource::check_block(std::size_t at, std::uint32_t& length) {
    // libpcap's checks and words, in its order (read_block()).
    const std::size_t left = map_bytes_ - at;
    if (left < kBlockHeaderBytes) {
        damage_ = truncated(kBlockHeaderBytes, left);
        return false;
    }
    const std::uint8_t* b = map_ + at;
    length = u32<kBigEndian>(b + 4);
    if (length < kBlockHeaderBytes + kBlockTrailerBytes) {
        damage_ = "block in pcapng dump file has a length of " + std::to_string(length) + " < " +
                  std::to_string(kBlockHeaderBytes + kBlockTrailerBytes);
        return false;
    }
    if (length % 4 != 0) {
        damage_ = "block in pcapng dump file has a length of " + std::to_string(length) +
                  " that is not a multiple of 4";
        return false;
    }
    if (length > kMaxBlockBytes) {
        damage_ = "pcapng block size " + std::to_string(length) + " > maximum " +
                  std::to_string(kMaxBlockBytes);
        return false;
    }
    if (length > left) {
        damage_ = truncated(length - kBlockHeaderBytes, left - kBlockHeaderBytes);
        return false;
    }
    // The trailer is the block's last word: reading it also makes a cut file fault here, before
    // any view into the block is handed out (capture/mapped_file.hpp).
    if (u32<kBigEndian>(b + length - kBlockTrailerBytes) != length) {
        damage_ = "block total length in header and trailer don't match";
        return false;
    }
    return true;
}

bool MappedPcapngSource::start_section(std::size_t at, std::uint32_t& length) {
    // Each section has its own byte order: its byte-order magic says which, and only then can its
    // length be read. A section in the other order is not damage (libpcap refuses it).
    const std::size_t left = map_bytes_ - at;
    const std::uint8_t* b = map_ + at;
    if (left >= kBlockHeaderBytes + 4) {
        if (load_be32(b + 8) == kByteOrderMagic) {
            big_endian_ = true;
        } else if (load_le32(b + 8) == kByteOrderMagic) {
            big_endian_ = false;
        }
    }
    const bool ok = big_endian_ ? check_block<true>(at, length) : check_block<false>(at, length);
    if (!ok) return false;
    if (length - kBlockHeaderBytes - kBlockTrailerBytes < kSectionFixedBytes) {
        damage_ = too_short(kSectionHeader);
        return false;
    }
    const std::uint32_t magic = big_endian_ ? load_be32(b + 8) : load_le32(b + 8);
    if (magic != kByteOrderMagic) {
        damage_ = "the file has a section with a bad byte order magic field";
        return false;
    }
    const std::uint16_t major = big_endian_ ? load_be16(b + 12) : load_le16(b + 12);
    if (major != 1) {
        damage_ = "unknown pcapng savefile major version number " + std::to_string(major);
        return false;
    }
    section_first_ = interfaces_.size();  // a new section: its own interfaces, from 0
    return true;
}

template <bool kBigEndian>
bool MappedPcapngSource::add_interface(const std::uint8_t* body, std::size_t bytes) {
    if (bytes < kInterfaceFixedBytes) {
        damage_ = too_short(kInterfaceDescription);
        return false;
    }
    Interface i;
    i.linktype = u16<kBigEndian>(body);
    i.dlt = dlt_from_linktype(i.linktype);
    i.readable = i.dlt >= 0 && link_type_from_dlt(i.dlt, i.link);
    // NFLOG's TLVs are in the writing host's byte order, which libpcap swaps in its copy of each
    // packet and a mapping cannot: from a host of the other order, such packets are not read.
    if (i.link == LinkType::nflog && kBigEndian != (std::endian::native == std::endian::big))
        i.readable = false;
    // pcap_adjust_snapshot(): 0, or more than the link type's maximum, means the maximum.
    const std::uint32_t snaplen = u32<kBigEndian>(body + 4);
    i.snapshot = (snaplen == 0 || snaplen > kMaxRecordBytes) ? kMaxRecordBytes : snaplen;
    // The options, as libpcap reads them (process_idb_options()): a resolution of 10^-6 and no
    // offset unless they say otherwise.
    bool saw_tsresol = false;
    bool saw_tsoffset = false;
    std::uint8_t tsresol = 6;
    std::size_t at = kInterfaceFixedBytes;
    while (at < bytes) {
        if (bytes - at < 4) {
            damage_ = too_short(kInterfaceDescription);
            return false;
        }
        const std::uint16_t code = u16<kBigEndian>(body + at);
        const std::uint16_t length = u16<kBigEndian>(body + at + 2);
        const std::size_t padded = (std::size_t{length} + 3) / 4 * 4;
        at += 4;
        if (bytes - at < padded) {
            damage_ = too_short(kInterfaceDescription);
            return false;
        }
        const std::uint8_t* value = body + at;
        at += padded;
        const std::string idb = "Interface Description Block ";
        if (code == kOptEnd) {
            if (length != 0) {
                damage_ =
                    idb + "has opt_endofopt option with length " + std::to_string(length) + " != 0";
                return false;
            }
            break;
        }
        if (code == kOptTsresol) {
            if (length != 1) {
                damage_ =
                    idb + "has if_tsresol option with length " + std::to_string(length) + " != 1";
                return false;
            }
            if (saw_tsresol) {
                damage_ = idb + "has more than one if_tsresol option";
                return false;
            }
            saw_tsresol = true;
            tsresol = value[0];
            const unsigned exponent = tsresol & 0x7Fu;
            if ((tsresol & 0x80) != 0 ? exponent > 63 : exponent > 19) {
                damage_ = idb + "if_tsresol option resolution " +
                          ((tsresol & 0x80) != 0 ? "2^-" : "10^-") + std::to_string(exponent) +
                          " is too high";
                return false;
            }
        } else if (code == kOptTsoffset) {
            if (length != 8) {
                damage_ =
                    idb + "has if_tsoffset option with length " + std::to_string(length) + " != 8";
                return false;
            }
            if (saw_tsoffset) {
                damage_ = idb + "has more than one if_tsoffset option";
                return false;
            }
            saw_tsoffset = true;
            const std::uint64_t high = u32<kBigEndian>(value + (kBigEndian ? 0 : 4));
            const std::uint64_t low = u32<kBigEndian>(value + (kBigEndian ? 4 : 0));
            i.time.offset_s = static_cast<std::int64_t>(high << 32 | low);
        }
    }
    // Units of 10^-n or 2^-n s -> ns: multiply by 10^(9-n); shift (n of 2^-n) after * 1e9; or
    // divide by 10^(n-9).
    const unsigned exponent = tsresol & 0x7Fu;
    if ((tsresol & 0x80) != 0) {
        i.time.kind = TimeScale::Kind::shift;
        i.time.factor = exponent;
    } else {
        std::uint64_t power = 1;
        for (unsigned k = 0; k < (exponent <= 9 ? 9 - exponent : exponent - 9); ++k) power *= 10;
        i.time.kind = exponent <= 9 ? TimeScale::Kind::multiply : TimeScale::Kind::divide;
        i.time.factor = power;
    }
    interfaces_.push_back(i);
    return true;
}

template <bool kBigEndian>
MappedPcapngSource::Step MappedPcapngSource::read_blocks(PacketBatch& batch) {
    const std::uint8_t* const map = map_;
    const std::uint32_t ifindex = ifindex_;
    std::size_t count = batch.count;
    Step step = Step::full;
    while (count < kBatchSize) {
        if (offset_ == map_bytes_) {
            step = Step::end;
            break;
        }
        const std::uint8_t* b = map + offset_;
        std::uint32_t length = 0;
        if (map_bytes_ - offset_ >= 4 && load_le32(b) == kSectionHeader) {
            const bool was_big = big_endian_;
            if (!start_section(offset_, length)) goto damaged;
            offset_ += length;
            if (big_endian_ != was_big) {
                step = Step::byte_order_changed;
                break;
            }
            continue;
        }
        if (!check_block<kBigEndian>(offset_, length)) goto damaged;
        const std::uint32_t type = u32<kBigEndian>(b);
        const std::uint8_t* body = b + kBlockHeaderBytes;
        const std::size_t body_bytes = length - kBlockHeaderBytes - kBlockTrailerBytes;
        std::uint32_t interface = 0;
        std::uint64_t units = 0;  // the timestamp, in the interface's resolution
        std::uint32_t caplen = 0;
        std::uint32_t wire = 0;
        std::size_t fixed = 0;
        switch (type) {
            case kEnhancedPacket:
            case kObsoletePacket:
                // Interface (32 bits, or 16 and a drop count), time high and low, lengths.
                fixed = type == kEnhancedPacket ? kEnhancedFixedBytes : kObsoleteFixedBytes;
                if (body_bytes < fixed) {
                    damage_ = too_short(type);
                    goto damaged;
                }
                interface = type == kEnhancedPacket ? u32<kBigEndian>(body) : u16<kBigEndian>(body);
                units = std::uint64_t{u32<kBigEndian>(body + 4)} << 32 | u32<kBigEndian>(body + 8);
                caplen = u32<kBigEndian>(body + 12);
                wire = u32<kBigEndian>(body + 16);
                break;
            case kSimplePacket:
                // The first interface's, without a time; captured: the least of the length and
                // that interface's snaplen.
                fixed = kSimpleFixedBytes;
                if (body_bytes < fixed) {
                    damage_ = too_short(type);
                    goto damaged;
                }
                wire = u32<kBigEndian>(body);
                break;
            case kInterfaceDescription:
                if (!add_interface<kBigEndian>(body, body_bytes)) goto damaged;
                offset_ += length;
                continue;
            default:  // name resolution, statistics, secrets, custom, ...: not packets
                offset_ += length;
                continue;
        }
        if (interface >= interfaces_.size() - section_first_) {
            damage_ = "a packet arrived on interface " + std::to_string(interface) +
                      ", but there's no Interface Description Block for that interface";
            goto damaged;
        }
        Interface& i = interfaces_[section_first_ + interface];
        if (type == kSimplePacket) caplen = std::min(wire, i.snapshot);
        if (caplen > i.snapshot && i.readable) {
            damage_ = "invalid packet capture length " + std::to_string(caplen) +
                      ", bigger than snaplen of " + std::to_string(i.snapshot);
            goto damaged;
        }
        if (body_bytes - fixed < caplen) {
            damage_ = too_short(type);
            goto damaged;
        }
        if (!i.filter_ready) [[unlikely]] {
            if (i.readable && filter_.active() && !filter_.cover(i.dlt, damage_)) goto damaged;
            i.filter_ready = true;
        }
        offset_ += length;
        ++packets_read_;
        if (!i.readable) [[unlikely]] {
            ++packets_other_link_;
            continue;
        }
        Int128 ns = 0;
        switch (i.time.kind) {
            case TimeScale::Kind::multiply:
                ns = Int128{units} * i.time.factor;
                break;
            case TimeScale::Kind::shift:
                ns = (Int128{units} * kNsPerSecond) >> i.time.factor;
                break;
            case TimeScale::Kind::divide:
                ns = Int128{units / i.time.factor};
                break;
        }
        ns += Int128{i.time.offset_s} * kNsPerSecond;
        if (ns < 0 || ns >= kEndOfTimeNs) [[unlikely]] {
            ++packets_bad_time_;
            continue;
        }
        PacketView& v = batch.packets[count++];
        v.data = body + fixed;
        v.captured_bytes = caplen;
        v.wire_bytes = wire;
        v.ts = Timestamp::from_ns(static_cast<std::int64_t>(ns));
        v.ifindex = ifindex;
        v.link = i.link;
    }
    batch.count = count;
    return step;
damaged:  // the block at offset_ is damaged: the packets before it are kept
    batch.count = count;
    return Step::damaged;
}

}  // namespace spanflow
