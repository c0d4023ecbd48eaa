// The words for an errno value, safe to call from any thread (std::strerror may hand out a buffer
// another thread is writing).
#pragma once

#include <string.h>  // strerror_r: the GNU one, which returns the text

#include <string>

namespace spanflow {

inline std::string error_text(int error) {
    char buffer[128];
    return ::strerror_r(error, buffer, sizeof buffer);
}

}  // namespace spanflow
