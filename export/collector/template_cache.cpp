#include "export/collector/template_cache.hpp"

#include <limits>

namespace spanflow::collector {

const Template* TemplateCache::find(const TemplateKey& key) const {
    const auto it = templates_.find(key);
    return it == templates_.end() ? nullptr : &it->second;
}

void TemplateCache::define(const TemplateKey& key, const Template& t) {
    auto [it, inserted] = templates_.try_emplace(key, t);
    if (!inserted && !(it->second == t)) it->second = t;
}

void TemplateCache::withdraw(const TemplateKey& key) {
    templates_.erase(key);
}

void TemplateCache::withdraw_all(const TemplateKey& stream, bool options) {
    TemplateKey first = stream;
    first.template_id = 0;
    TemplateKey last = stream;
    last.template_id = std::numeric_limits<std::uint16_t>::max();
    for (auto it = templates_.lower_bound(first); it != templates_.end() && !(last < it->first);) {
        it = it->second.options == options ? templates_.erase(it) : std::next(it);
    }
}

}  // namespace spanflow::collector
