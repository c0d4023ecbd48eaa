#include "capture/link_numbers.hpp"

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

std::string unsupported_link_text(int dlt) {
    const char* name = pcap_datalink_val_to_name(dlt);
    std::string which = "DLT " + std::to_string(dlt);
    if (name != nullptr) which = std::string(name) + " (" + which + ")";
    return "unsupported link type " + which +
           "; spanflow reads EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP, PPP, "
           "C_HDLC and NFLOG";
}

}  // namespace spanflow
