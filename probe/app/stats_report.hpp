// The statistics report printed on stderr at the end of a run, and on SIGUSR1 while it runs:
// what was read or captured (per interface, with every drop counter), what decode rejected and
// why, how flows began and ended, and what was exported where. It reads the statistics board
// only, so it can run on any thread while the capture, worker and exporter threads work.
#pragma once

#include <cstdio>

#include "export/udp_transport.hpp"
#include "probe/app/export_sink.hpp"
#include "probe/app/probe_config.hpp"
#include "probe/runtime/pipeline.hpp"
#include "probe/runtime/stats_board.hpp"

namespace spanflow {

struct ReportInputs {
    const ProbeConfig& config;
    const StatsBoard& board;
    const Pipeline& pipeline;
    const ExportSink& sink;
    const UdpTransport& transport;  // collector addresses (fixed after start)
    bool running{false};            // SIGUSR1: the run goes on
    double elapsed_seconds{0};
};

void print_report(std::FILE* out, const ReportInputs& in);

}  // namespace spanflow
