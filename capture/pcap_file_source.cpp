#include "capture/pcap_file_source.hpp"

#include <pcap/pcap.h>

#include <cstring>

namespace spanflow {
namespace {
// libpcap never hands out a record above its maximum snapshot length (262144 bytes), so an arena
// of one such record per batch slot always holds a full batch without a size check per packet.
constexpr std::size_t kMaxRecordBytes = 262144;
// Packet times past 2^33 s (the year 2242) are damage, not time: they are counted and skipped.
constexpr std::uint64_t kMaxSeconds = std::uint64_t{1} << 33;
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
    return std::unique_ptr<PcapFileSource>(new PcapFileSource(handle, link, dlt, ifindex));
}

PcapFileSource::PcapFileSource(pcap* handle, LinkType link, int dlt, std::uint32_t ifindex)
    : handle_(handle),
      link_(link),
      dlt_(dlt),
      ifindex_(ifindex),
      arena_(std::make_unique<std::uint8_t[]>(kBatchSize * kMaxRecordBytes)) {}

PcapFileSource::~PcapFileSource() {
    pcap_close(handle_);
}

ReadStatus PcapFileSource::next_batch(PacketBatch& batch) {
    batch.count = 0;
    std::uint8_t* free_space = arena_.get();
    while (batch.count < kBatchSize) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        int rc = pcap_next_ex(handle_, &hdr, &data);
        if (rc == PCAP_ERROR_BREAK) return ReadStatus::end;
        if (rc != 1) {
            error_ = "packet " + std::to_string(packets_read_ + 1) + ": " + pcap_geterr(handle_);
            return ReadStatus::error;
        }
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
    return ReadStatus::ok;
}

}  // namespace spanflow
