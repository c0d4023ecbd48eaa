// The numbers that name link types outside the probe: libpcap's DLT_ values and the LINKTYPE_
// values that pcap and pcapng files carry, mapped onto decode's LinkType in one place.
#pragma once

#include <cstdint>
#include <string>

#include "probe/core/link_type.hpp"

namespace spanflow {

// The libpcap DLT value -> LinkType, or false when decode does not read that link type.
[[nodiscard]] bool link_type_from_dlt(int dlt, LinkType& out);

// A file's LINKTYPE_ value -> libpcap's DLT_ value (libpcap's linktype_to_dlt()) for the link
// types decode reads (they differ for RAW, and on OpenBSD for LOOP); -1 for any other.
[[nodiscard]] int dlt_from_linktype(std::uint32_t linktype);

// The one-line refusal of a link type decode does not read, naming it as libpcap does.
[[nodiscard]] std::string unsupported_link_text(int dlt);

}  // namespace spanflow
