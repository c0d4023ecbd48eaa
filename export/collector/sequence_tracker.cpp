#include "export/collector/sequence_tracker.hpp"

#include <fmt/format.h>

namespace spanflow::collector {

namespace {

constexpr std::uint32_t kHalfRange = 0x8000'0000u;  // 2^31: ahead below it, behind from it on

void remember_gap(SequenceTracker::ExporterState& s, std::uint32_t start, std::uint32_t length) {
    for (auto& g : s.gaps) {
        if (g.length == 0) {
            g = {start, length};
            return;
        }
    }
    // All slots taken: overwrite them in turn; a dropped gap's records stay counted as lost.
    s.gaps[s.next_gap] = {start, length};
    s.next_gap = (s.next_gap + 1) % s.gaps.size();
}

// If [sequence, sequence + increment) lies inside a remembered gap, cuts it out of that gap and
// returns true. Offsets are taken from the gap's start modulo 2^32, so gaps across the wrap work.
bool fill_gap(SequenceTracker::ExporterState& s, std::uint32_t sequence, std::uint32_t increment) {
    for (auto& g : s.gaps) {
        if (g.length == 0) continue;
        const std::uint32_t offset = sequence - g.start;
        if (offset >= g.length || std::uint64_t{offset} + increment > g.length) continue;
        const std::uint32_t tail_start = sequence + increment;
        const std::uint32_t tail_length = g.length - offset - increment;
        g.length = offset;  // what remains before the late datagram
        if (g.length == 0) {
            g = {tail_start, tail_length};
        } else if (tail_length != 0) {
            remember_gap(s, tail_start, tail_length);
        }
        return true;
    }
    return false;
}

}  // namespace

std::string format_exporter(const ExporterKey& k) {
    const std::string source = format_endpoint(k.source);
    switch (k.version) {
        case 5:
            return fmt::format("{} v5 engine {}/{}", source, k.domain >> 8, k.domain & 0xFF);
        case 9:
            return fmt::format("{} v9 source id {}", source, k.domain);
        case 10:
            return fmt::format("{} IPFIX domain {}", source, k.domain);
        default:
            return fmt::format("{} v{} domain {}", source, k.version, k.domain);
    }
}

SequenceResult SequenceTracker::observe(const ExporterKey& exporter, std::uint32_t sequence,
                                        std::uint32_t increment, bool increment_unknown) {
    if (exporters_.size() >= kMaxExporters && !exporters_.contains(exporter)) {
        ++untracked_;
        return {SequenceEvent::first, 0};
    }
    auto [it, inserted] = exporters_.try_emplace(exporter);
    ExporterState& s = it->second;
    ++s.counters.datagrams;
    SequenceResult result{SequenceEvent::first, 0};
    if (inserted) {
        s.expected = sequence + increment;
    } else if (s.resync_next) {
        s.expected = sequence + increment;
        result.event = SequenceEvent::resync;
    } else {
        result = compare(s, sequence, increment);
    }
    s.resync_next = increment_unknown;
    return result;
}

SequenceResult SequenceTracker::compare(ExporterState& s, std::uint32_t sequence,
                                        std::uint32_t increment) {
    const std::uint32_t d = sequence - s.expected;
    if (d == 0) {
        s.expected = sequence + increment;
        return {SequenceEvent::in_order, 0};
    }
    if (d < kHalfRange) {
        remember_gap(s, s.expected, d);
        s.counters.lost_records += d;
        lost_records_ += d;
        s.expected = sequence + increment;
        return {SequenceEvent::gap, d};
    }

    ++s.counters.out_of_order;
    ++out_of_order_;
    if (fill_gap(s, sequence, increment)) {
        s.counters.lost_records -= increment;
        lost_records_ -= increment;
        return {SequenceEvent::late, increment};
    }
    s.gaps = {};
    s.expected = sequence + increment;
    return {SequenceEvent::restart, 0};
}

}  // namespace spanflow::collector
