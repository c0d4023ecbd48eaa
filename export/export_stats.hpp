// What an export path counts, whatever its format; the end-of-run report prints it.
#pragma once

#include <cstdint>

namespace spanflow {

struct ExportStats {
    std::uint64_t records{0};         // flow records sent
    std::uint64_t datagrams{0};       // export datagrams (messages) sent
    std::uint64_t ipv6_skipped{0};    // v5 only: flows it cannot carry
    std::uint64_t uptime_rebased{0};  // v5/v9: datagrams that needed a new sysUptime origin
    std::uint64_t template_sends{0};  // v9/IPFIX: datagrams that carried the templates
};

}  // namespace spanflow
