// The probe's run: capture -> decode -> flow shard -> exporters, then the statistics report.
#pragma once

#include <atomic>

#include "probe/app/probe_config.hpp"

namespace spanflow {

// Replays config.read_path and returns the process exit status: 0 done, 1 the capture is damaged
// (every flow read before the damage was still exported), 2 it cannot be read at all.
// `stop` (set by SIGINT/SIGTERM) ends the replay early; every flow held is still exported.
[[nodiscard]] int run_replay(const ProbeConfig& config, const std::atomic<bool>& stop);

}  // namespace spanflow
