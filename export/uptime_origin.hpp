// The boot time (sysUptime 0) of the NetFlow v5 and v9 exporters. Both formats carry flow times as
// 32-bit milliseconds since boot, which spans 49.7 days. Replayed captures can do what no router
// does: go back in time, or span years (merged files). A collector rebuilds each datagram's boot
// time from its own header, so when a datagram's flows do not fit the window of the current boot
// time, the exporter moves its boot time to the datagram's earliest flow and counts it. Flow times
// stay exact to the millisecond either way.
#pragma once

#include <cstdint>

#include "probe/core/timestamp.hpp"

namespace spanflow {

class UptimeOrigin {
  public:
    // sysUptime fields are 32-bit milliseconds; a second is kept spare for the header's rounding.
    static constexpr std::int64_t kWindowMs = 0xFFFF'FFFFLL - 1000;

    // `lead`: how far before `t`'s whole second boot is put. nfdump reads a v9 FIRST_SWITCHED of
    // 0 as "no time", so the v9 exporter boots a second before its first flow.
    explicit UptimeOrigin(Duration lead = Duration{0}) : lead_(lead) {}

    // Boot at `t` rounded down to a whole second, less the lead, so that sysUptime is
    // whole-second aligned.
    void set(Timestamp t) {
        boot_ = Timestamp::from_sec_frac(t.sec(), 0) + Duration{-lead_.count()};
    }
    [[nodiscard]] Timestamp boot() const { return boot_; }

    // Whether flows from `first` to `latest` can be carried as sysUptime from this boot time.
    [[nodiscard]] bool fits(Timestamp first, Timestamp latest) const {
        return first >= boot_ && latest.ms() - boot_.ms() < kWindowMs;
    }

  private:
    Duration lead_;
    Timestamp boot_{};
};

}  // namespace spanflow
