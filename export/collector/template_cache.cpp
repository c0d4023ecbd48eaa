#include "export/collector/template_cache.hpp"

#include <limits>

namespace spanflow::collector {

const Template* TemplateCache::find(const TemplateKey& key) const {
    const auto it = templates_.find(key);
    return it == templates_.end() ? nullptr : &it->second;
}

bool TemplateCache::define(const TemplateKey& key, const Template& t) {
    const auto it = templates_.find(key);
    const std::size_t old_fields = it == templates_.end() ? 0 : it->second.fields.size();
    if (fields_ - old_fields + t.fields.size() > kMaxFields) return false;
    fields_ = fields_ - old_fields + t.fields.size();
    if (it == templates_.end()) {
        templates_.emplace(key, t);
    } else if (!(it->second == t)) {
        it->second = t;
    }
    return true;
}

void TemplateCache::withdraw(const TemplateKey& key) {
    const auto it = templates_.find(key);
    if (it == templates_.end()) return;
    fields_ -= it->second.fields.size();
    templates_.erase(it);
}

void TemplateCache::withdraw_all(const TemplateKey& stream, bool options) {
    TemplateKey first = stream;
    first.template_id = 0;
    TemplateKey last = stream;
    last.template_id = std::numeric_limits<std::uint16_t>::max();
    for (auto it = templates_.lower_bound(first); it != templates_.end() && !(last < it->first);) {
        if (it->second.options != options) {
            ++it;
            continue;
        }
        fields_ -= it->second.fields.size();
        it = templates_.erase(it);
    }
}

}  // namespace spanflow::collector
