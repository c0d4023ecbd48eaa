// The probe's own export datagrams, recognised by flow key so that they are never counted as
// flows when they cross a captured interface (a collector reached through the mirror port, or a
// host interface captured with its own traffic). Each is UDP from the export socket's local
// address and port to the collector's: an exact match, so no other traffic is left out.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "probe/core/packet_meta.hpp"

namespace spanflow {

struct OwnExportFlow {
    std::array<std::uint8_t, 16> src_addr{};  // all zero: any source address (socket not bound)
    std::array<std::uint8_t, 16> dst_addr{};
    std::uint16_t src_port{0};
    std::uint16_t dst_port{0};
    std::uint8_t ip_version{4};
    bool any_src_addr{false};
};

class OwnExports {
  public:
    OwnExports() = default;
    explicit OwnExports(std::vector<OwnExportFlow> flows) : flows_(std::move(flows)) {}

    [[nodiscard]] bool empty() const { return flows_.empty(); }

    [[nodiscard]] bool matches(const FlowKey& k) const {
        if (k.protocol != kProtoUdp) return false;
        for (const OwnExportFlow& f : flows_) {
            if (k.dst_port == f.dst_port && k.src_port == f.src_port &&
                k.ip_version == f.ip_version && k.dst_addr == f.dst_addr &&
                (f.any_src_addr || k.src_addr == f.src_addr))
                return true;
        }
        return false;
    }

    // Removes the packets of the probe's own exports from metas[0, n), in order; returns how
    // many remain.
    std::size_t remove(PacketMeta* metas, std::size_t n) {
        if (flows_.empty()) return n;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (matches(metas[i].key)) {
                ++removed_;
                continue;
            }
            if (kept != i) metas[kept] = metas[i];
            ++kept;
        }
        return kept;
    }

    [[nodiscard]] std::uint64_t removed() const { return removed_; }

  private:
    std::vector<OwnExportFlow> flows_;
    std::uint64_t removed_{0};
};

}  // namespace spanflow
