#include "capture/libpcap_file_source.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstring>

namespace spanflow {

std::unique_ptr<LibpcapFileSource> LibpcapFileSource::open(const std::string& path,
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
        error = unsupported_link_text(dlt);
        pcap_close(handle);
        return nullptr;
    }
    std::unique_ptr<LibpcapFileSource> source(new LibpcapFileSource(link, dlt, ifindex));
    source->handle_ = handle;
    source->arena_ = std::make_unique_for_overwrite<std::uint8_t[]>(kBatchSize * kMaxRecordBytes);
    return source;
}

LibpcapFileSource::~LibpcapFileSource() {
    if (handle_ != nullptr) pcap_close(handle_);
}

PollStatus LibpcapFileSource::poll(PacketBatch& batch) {
    return filtered(next_batch(batch), batch);
}

PollStatus LibpcapFileSource::next_batch(PacketBatch& batch) {
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
        if (static_cast<std::uint64_t>(hdr->ts.tv_sec) > kMaxRecordSeconds) {
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
        v.link = link_;
        free_space += caplen;
    }
    return PollStatus::packets;
}

}  // namespace spanflow
