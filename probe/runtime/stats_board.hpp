// The statistics board: every thread's counters, published as it runs (capture and decode per
// capture thread, flows per worker, export per collector), read by the end-of-run report and by
// SIGUSR1 while the threads run. Each cell has one writer (core/published.hpp); readers sum.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "capture/source.hpp"
#include "probe/core/link_type.hpp"
#include "probe/core/published.hpp"
#include "probe/decode/decode_reason.hpp"

namespace spanflow {

// One capture thread's counters.
struct CaptureLoopStats {
    CaptureStats capture{};
    DecodeStats decode{};
    std::uint64_t own_exports_skipped{0};  // packets of the probe's own export datagrams
};

// One capture thread's cell: what it is, and its published counters.
struct CaptureCell {
    std::string name;  // file path or interface name
    std::uint32_t ifindex{0};
    LinkType link{};
    Published<CaptureLoopStats> stats;
};

// Counters of one collector, as the exporter thread publishes them.
struct CollectorCounters {
    std::uint64_t datagrams_sent{0};
    std::uint64_t send_errors{0};
    std::uint64_t refused{0};
    std::uint64_t last_errno{0};  // of the latest failed send, 0 if none
};

class StatsBoard {
  public:
    // Cells are added before the threads start; a deque keeps their addresses.
    CaptureCell& add_capture(std::string name, std::uint32_t ifindex, LinkType link) {
        CaptureCell& c = captures_.emplace_back();
        c.name = std::move(name);
        c.ifindex = ifindex;
        c.link = link;
        return c;
    }
    [[nodiscard]] const std::deque<CaptureCell>& captures() const { return captures_; }
    [[nodiscard]] std::deque<CaptureCell>& captures() { return captures_; }

  private:
    std::deque<CaptureCell> captures_;
};

}  // namespace spanflow
