// IPFIX data sets that arrived before their template. Over UDP a template can come after the data
// it describes (reordering, or a collector started between template refreshes), so such sets are
// kept for a while and decoded when the template arrives, within a bound on time and memory.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "export/collector/template_cache.hpp"

namespace spanflow::collector {

class HeldSets {
  public:
    using Clock = std::chrono::steady_clock;

    // Exporters re-send templates every few seconds (spanflow: at most every T seconds), so a
    // template that has not come after this long is not coming.
    static constexpr std::chrono::seconds kHoldTime{30};
    // Bounds the memory held whatever the exporters send; each set also counts its bookkeeping,
    // so that many tiny sets are bounded too.
    static constexpr std::size_t kMaxHeldBytes = std::size_t{4} << 20;
    // ... and bounds their number, which bounds the work of each release and expiry (a sender of
    // many tiny sets would otherwise make every template definition scan tens of thousands).
    static constexpr std::size_t kMaxHeldSets = 4096;

    // Holds a copy of `body` (a data set without its header) for `key`. False when that would
    // pass kMaxHeldBytes or kMaxHeldSets, or the set is empty: the set is then not held.
    [[nodiscard]] bool hold(const TemplateKey& key, std::span<const std::uint8_t> body,
                            Clock::time_point now);

    // Hands every set held for `key` to `decode(body)`, oldest first, and forgets them. Returns
    // how many there were.
    template <typename Decode>
    std::size_t release(const TemplateKey& key, Decode&& decode) {
        std::size_t released = 0;
        for (Held& h : sets_) {
            if (h.key != key) continue;
            decode(std::span<const std::uint8_t>(h.body));
            ++released;
        }
        if (released != 0) erase_if([&](const Held& h) { return h.key == key; });
        return released;
    }

    // Forgets the sets held for kHoldTime or longer at `now` (a steady clock: sets are held in
    // arrival order, so the expired ones are a prefix); returns how many.
    std::size_t expire(Clock::time_point now);

    [[nodiscard]] std::size_t size() const { return sets_.size(); }
    [[nodiscard]] std::size_t bytes() const { return bytes_; }

  private:
    struct Held {
        TemplateKey key;
        Clock::time_point arrived;
        std::vector<std::uint8_t> body;
    };

    [[nodiscard]] static std::size_t cost(const Held& h) { return sizeof(Held) + h.body.size(); }

    template <typename Predicate>
    std::size_t erase_if(Predicate&& drop) {
        const auto first = std::remove_if(sets_.begin(), sets_.end(), [&](const Held& h) {
            if (!drop(h)) return false;
            bytes_ -= cost(h);
            return true;
        });
        const auto n = static_cast<std::size_t>(sets_.end() - first);
        sets_.erase(first, sets_.end());
        return n;
    }

    // Few sets are ever held at once, and only while a template is missing: a plain vector in
    // arrival order keeps release in order and expiry a single pass.
    std::vector<Held> sets_;
    std::size_t bytes_{0};
};

}  // namespace spanflow::collector
