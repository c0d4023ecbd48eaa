#include "capture/file_source_common.hpp"

#include <pcap/pcap.h>

namespace spanflow {

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

CaptureStats FileSourceCommon::stats() const {
    CaptureStats s;
    s.received = packets_read_;
    s.skipped_bad_time = packets_bad_time_;
    s.filtered_out = packets_filtered_;
    return s;
}

PollStatus FileSourceCommon::fail(const std::string& why) {
    error_ = "packet " + std::to_string(packets_read_ + 1) + ": " + why;
    return PollStatus::error;
}

}  // namespace spanflow
