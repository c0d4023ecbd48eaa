// Time as the probe sees it: nanoseconds since the Unix epoch, from packet headers or the wall
// clock, carried in one type so that units never get mixed.
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>

namespace spanflow {

using Duration = std::chrono::nanoseconds;

struct Timestamp {
    std::int64_t ns{0};  // since 1970-01-01T00:00:00Z

    static constexpr Timestamp from_ns(std::int64_t v) { return Timestamp{v}; }
    static constexpr Timestamp from_sec_frac(std::int64_t sec, std::int64_t frac_ns) {
        return Timestamp{sec * 1'000'000'000 + frac_ns};
    }
    // Floor division, so that times before 1970 still round towards minus infinity.
    constexpr std::int64_t ms() const { return floor_div(ns, 1'000'000); }
    constexpr std::int64_t sec() const { return floor_div(ns, 1'000'000'000); }
    constexpr std::int64_t subsec_ns() const { return ns - sec() * 1'000'000'000; }

    friend constexpr auto operator<=>(Timestamp, Timestamp) = default;
    friend constexpr Duration operator-(Timestamp a, Timestamp b) { return Duration{a.ns - b.ns}; }
    friend constexpr Timestamp operator+(Timestamp a, Duration d) {
        return Timestamp{a.ns + d.count()};
    }

  private:
    static constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
        std::int64_t q = a / b;
        return (a % b != 0 && a < 0) ? q - 1 : q;
    }
};

// The clock of a replay: the newest packet time seen so far. Packet times in real captures do go
// backwards now and then (merged interfaces, NIC queues); the clock never does.
class PacketClock {
  public:
    void observe(Timestamp t) {
        if (!started_) start_ = now_ = t;
        if (t > now_) now_ = t;
        started_ = true;
    }
    // Stamps every view of `batch` with the clock at its arrival: the newest time up to and
    // including it. Every packet read advances the clock, whether decode keeps it or not.
    template <class Batch>
    void stamp(Batch& batch) {
        if (batch.count == 0) return;
        observe(batch.packets[0].ts);  // starts the clock at the first packet of the run
        Timestamp now = now_;          // kept in a register for the batch
        for (std::size_t i = 0; i < batch.count; ++i) {
            auto& v = batch.packets[i];
            if (v.ts > now) now = v.ts;
            v.clock = now;
        }
        now_ = now;
    }
    [[nodiscard]] bool started() const { return started_; }
    [[nodiscard]] Timestamp now() const { return now_; }
    [[nodiscard]] Timestamp start() const { return start_; }  // the first packet's time

  private:
    Timestamp start_{};
    Timestamp now_{};
    bool started_{false};
};

}  // namespace spanflow
