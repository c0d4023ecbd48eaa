// The collector's state stays bounded whatever senders invent: templates, exporter streams and
// held sets each have a ceiling, past which new ones are refused and counted.
#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "export/collector/held_sets.hpp"
#include "export/collector/sequence_tracker.hpp"
#include "export/collector/template_cache.hpp"

using namespace spanflow::collector;

namespace {

TemplateKey key_of(std::uint32_t domain, std::uint16_t id) {
    TemplateKey k;
    k.exporter = *parse_endpoint("192.0.2.1:4739");
    k.version = 10;
    k.domain = domain;
    k.template_id = id;
    return k;
}

Template wide_template(std::size_t fields) {
    Template t;
    t.fields.assign(fields, TemplateField{1, 8, 0, false});
    t.min_record_bytes = 8 * fields;
    return t;
}

}  // namespace

TEST_SUITE("collector bounds") {
    TEST_CASE(
        "the template cache refuses templates past its field bound, and frees on withdrawal") {
        TemplateCache cache;
        const std::size_t per_template = 4096;
        const std::size_t fit = TemplateCache::kMaxFields / per_template;
        for (std::size_t i = 0; i < fit; ++i)
            REQUIRE(cache.define(key_of(static_cast<std::uint32_t>(i), 256),
                                 wide_template(per_template)));
        CHECK_FALSE(cache.define(key_of(999'999, 256), wide_template(per_template)));
        CHECK(cache.find(key_of(999'999, 256)) == nullptr);
        // redefining one in place with the same size still fits
        CHECK(cache.define(key_of(0, 256), wide_template(per_template)));
        cache.withdraw(key_of(0, 256));
        CHECK(cache.define(key_of(999'999, 256), wide_template(per_template)));
        CHECK(cache.size() == fit);
    }

    TEST_CASE("exporter streams past the bound are decoded but not tracked, and counted") {
        SequenceTracker tracker;
        ExporterKey k;
        k.source = *parse_endpoint("192.0.2.1:4739");
        k.version = 10;
        for (std::uint32_t d = 0; d < SequenceTracker::kMaxExporters; ++d) {
            k.domain = d;
            (void)tracker.observe(k, 0, 1);
        }
        CHECK(tracker.untracked() == 0);
        k.domain = 0xFFFF'FFFF;
        (void)tracker.observe(k, 0, 1);
        CHECK(tracker.untracked() == 1);
        CHECK(tracker.exporters().size() == SequenceTracker::kMaxExporters);
        k.domain = 5;  // a known stream is still tracked
        CHECK(tracker.observe(k, 1, 1).event == SequenceEvent::in_order);
    }

    TEST_CASE("held sets are bounded in number, empty sets are not held, expiry takes a prefix") {
        HeldSets held;
        const auto t0 = HeldSets::Clock::now();
        const std::vector<std::uint8_t> body(8, 1);
        for (std::size_t i = 0; i < HeldSets::kMaxHeldSets; ++i)
            REQUIRE(held.hold(key_of(1, 300), body, t0 + std::chrono::milliseconds(i)));
        CHECK_FALSE(held.hold(key_of(1, 300), body, t0));
        CHECK_FALSE(held.hold(key_of(1, 301), {}, t0));
        CHECK(held.expire(t0 + HeldSets::kHoldTime - std::chrono::seconds(1)) == 0);
        CHECK(held.expire(t0 + HeldSets::kHoldTime + std::chrono::milliseconds(9)) == 10);
        CHECK(held.size() == HeldSets::kMaxHeldSets - 10);
    }
}
