// The probe's run: opens the sources (a capture file, or live interfaces), the outputs and the
// pipeline, drops privileges, starts the threads, serves the signals, and prints the report.
#pragma once

#include "probe/app/probe_config.hpp"

namespace spanflow {

// Runs the probe and returns the process exit status: 0 done (a replay to its end, or live
// capture stopped by SIGINT/SIGTERM), 1 a replayed capture is damaged (every flow read before the
// damage was still exported) or a thread could not start, 2 the input or an output cannot be
// opened. Signals, from the moment the inputs and outputs are open (blocked in every thread, taken
// by the calling thread): SIGINT/SIGTERM stop and export every flow held (a second one exits at
// once, status 1); SIGUSR1 prints the report and goes on; SIGHUP reopens the -w file. Call it
// before any other thread is started.
[[nodiscard]] int run_probe(const ProbeConfig& config);

}  // namespace spanflow
