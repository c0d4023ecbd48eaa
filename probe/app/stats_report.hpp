// The statistics report printed on stderr at the end of a run: what was read, what decode
// rejected and why, how flows began and ended, and what was exported where.
#pragma once

#include <cstdint>
#include <cstdio>

#include "capture/pcap_file_source.hpp"
#include "export/export_stats.hpp"
#include "export/udp_transport.hpp"
#include "probe/app/probe_config.hpp"
#include "probe/decode/decode_reason.hpp"
#include "probe/flow/flow_shard.hpp"

namespace spanflow {

struct ReportInputs {
    const ProbeConfig& config;
    const PcapFileSource& source;
    const DecodeStats& decode;
    const FlowShardStats& flows;
    const ExportStats* exported;  // null without collectors
    const UdpTransport& transport;
    std::uint64_t json_records;
};

void print_report(std::FILE* out, const ReportInputs& in);

}  // namespace spanflow
