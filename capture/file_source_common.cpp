#include "capture/file_source_common.hpp"

namespace spanflow {

CaptureStats FileSourceCommon::stats() const {
    CaptureStats s;
    s.received = packets_read_;
    s.skipped_bad_time = packets_bad_time_;
    s.skipped_link_type = packets_other_link_;
    s.filtered_out = packets_filtered_;
    return s;
}

PollStatus FileSourceCommon::fail(const std::string& why) {
    error_ = "packet " + std::to_string(packets_read_ + 1) + ": " + why;
    return PollStatus::error;
}

}  // namespace spanflow
