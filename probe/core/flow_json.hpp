// One flow as one JSON line, keyed by IPFIX information-element names (RFC 7012 / IANA). The
// probe's -w output and spanflow-collect's output use this one writer, so the two can be compared
// as text.
#pragma once

#include <string>
#include <string_view>

#include "probe/core/flow_record.hpp"

namespace spanflow {

// Appends the JSON object for `r` and a newline to `out`. `extra_members` (",\"ie999\":7", each
// with its leading comma) goes in as is before the closing brace: the collector's elements that a
// FlowRecord does not hold. The probe passes none.
void append_flow_json(std::string& out, const FlowRecord& r, std::string_view extra_members = {});

// The header line of the table that append_flow_row writes, newline included.
std::string flow_row_header();
// Appends one table row for `r` and a newline: start (UTC), duration, protocol, source and
// destination, packets, bytes, TCP flags, ToS.
void append_flow_row(std::string& out, const FlowRecord& r);

// The textual address of one side of a key ("192.0.2.1", "2001:db8::1").
std::string format_address(const FlowKey& k, bool source);

}  // namespace spanflow
