// The clock of live capture: the wall clock, for expiry and export headers. It is the real time
// at start plus the monotonic time since, so a step of the system clock (NTP, an operator) never
// makes every flow time out at once or never; it advances by itself while no packet arrives.
// Flow start and end times still come from the kernel's packet timestamps (SEMANTICS.md).
#pragma once

#include <chrono>

#include "probe/core/timestamp.hpp"

namespace spanflow {

class LiveClock {
  public:
    LiveClock()
        : real_start_(Timestamp::from_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count())),
          steady_start_(std::chrono::steady_clock::now()) {}

    [[nodiscard]] Timestamp wall_now() const {
        return real_start_ + std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() -
                                                                  steady_start_);
    }
    // Moves the clock to now, packets or not.
    void advance() { clock_.observe(wall_now()); }
    // Stamps every view with the clock now: one reading per batch.
    template <class Batch>
    void stamp(Batch& batch) {
        advance();
        for (std::size_t i = 0; i < batch.count; ++i) batch.packets[i].clock = clock_.now();
    }
    [[nodiscard]] const PacketClock& packet_clock() const { return clock_; }

  private:
    Timestamp real_start_;
    std::chrono::steady_clock::time_point steady_start_;
    PacketClock clock_;
};

// The replay clock, with the same calls as LiveClock: time is what the packets say.
class ReplayClock {
  public:
    void advance() {}
    template <class Batch>
    void stamp(Batch& batch) {
        clock_.stamp(batch);
    }
    [[nodiscard]] const PacketClock& packet_clock() const { return clock_; }

  private:
    PacketClock clock_;
};

}  // namespace spanflow
