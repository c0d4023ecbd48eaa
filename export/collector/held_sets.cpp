#include "export/collector/held_sets.hpp"

namespace spanflow::collector {

bool HeldSets::hold(const TemplateKey& key, std::span<const std::uint8_t> body,
                    Clock::time_point now) {
    if (body.empty() || sets_.size() >= kMaxHeldSets ||
        bytes_ + sizeof(Held) + body.size() > kMaxHeldBytes)
        return false;
    Held& h = sets_.emplace_back(Held{key, now, {body.begin(), body.end()}});
    bytes_ += cost(h);
    return true;
}

std::size_t HeldSets::expire(Clock::time_point now) {
    if (sets_.empty() || now - sets_.front().arrived < kHoldTime) return 0;
    return erase_if([&](const Held& h) { return now - h.arrived >= kHoldTime; });
}

}  // namespace spanflow::collector
