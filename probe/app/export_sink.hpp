// The pipeline's RecordSink for a run: ended flows go to the JSON-lines writer and the export
// path (v5, v9 or IPFIX over UDP), on the exporter thread, which also publishes the export
// counters for the statistics report and reopens the JSON file when asked (SIGHUP).
#pragma once

#include <atomic>
#include <deque>
#include <string>

#include "export/export_path.hpp"
#include "export/json_lines_writer.hpp"
#include "probe/core/published.hpp"
#include "probe/runtime/pipeline.hpp"
#include "probe/runtime/stats_board.hpp"

namespace spanflow {

// What the exporter thread publishes.
struct ExportCounters {
    ExportStats exported{};
    std::uint64_t json_records{0};
    std::uint64_t json_unwritten{0};
    std::uint64_t json_reopens{0};
    std::uint64_t json_lost{0};
};

// Either may be null: a run without -w or without collectors.
class ExportSink final : public RecordSink {
  public:
    // Live: the JSON buffer is written out at least this often, as partly filled datagrams
    // are sent (ExportConfig::max_hold), so an ended flow shows within its timeout plus a few
    // tenths of a second. A replay writes JSON in large blocks.
    static constexpr Duration kLiveHold{std::chrono::milliseconds{100}};

    ExportSink(JsonLinesWriter* json, ExportPath* exporter, const UdpTransport& transport,
               bool live)
        : json_(json),
          exporter_(exporter),
          transport_(transport),
          live_(live),
          collectors_(transport.collectors().size()) {}

    void start(Timestamp first_packet) override {
        if (exporter_ != nullptr) exporter_->set_start_time(first_packet);
    }
    void records(const FlowRecord* records, std::size_t count, Timestamp now) override {
        if (reopen_.exchange(false, std::memory_order_relaxed) && json_ != nullptr) {
            std::string error;
            if (!json_->reopen(error)) (void)std::fprintf(stderr, "spanflow: %s\n", error.c_str());
        }
        for (std::size_t i = 0; i < count; ++i) {
            if (json_ != nullptr) json_->write(records[i]);
            if (exporter_ != nullptr) exporter_->add(records[i], now);
        }
        if (exporter_ != nullptr) exporter_->poll(now);
        if (live_ && json_ != nullptr && now - last_flush_ >= kLiveHold) {
            last_flush_ = now;
            (void)json_->flush();
        }
        say_json_failure();
        publish();
    }
    void finish(Timestamp now) override {
        if (exporter_ != nullptr) exporter_->finish(now);
        if (json_ != nullptr) (void)json_->flush();  // the report counts every line's fate
        say_json_failure();
        publish();
    }

    // Any thread (the signal loop): the JSON file is reopened before the next records.
    void request_reopen() { reopen_.store(true, std::memory_order_relaxed); }

    [[nodiscard]] ExportCounters counters() const { return published_.read(); }
    [[nodiscard]] CollectorCounters collector(std::size_t i) const { return collectors_[i].read(); }
    [[nodiscard]] std::size_t collector_count() const { return collectors_.size(); }

  private:
    // The first failed write is said at once, in one line; the run goes on and ends with status
    // 1, the report counting the records not written.
    void say_json_failure() {
        if (json_ == nullptr) return;
        if (const std::string failure = json_->take_failure(); !failure.empty())
            (void)std::fprintf(stderr, "spanflow: %s (flows still go to the collectors)\n",
                         failure.c_str());
    }
    void publish() {
        ExportCounters c;
        if (exporter_ != nullptr) c.exported = exporter_->stats();
        if (json_ != nullptr) {
            c.json_records = json_->written();
            c.json_unwritten = json_->unwritten();
            c.json_reopens = json_->reopens();
            c.json_lost = json_->lost();
        }
        published_.publish(c);
        for (std::size_t i = 0; i < collectors_.size(); ++i) {
            const CollectorStats& s = transport_.collectors()[i];
            collectors_[i].publish(CollectorCounters{s.datagrams_sent, s.send_errors, s.refused,
                                                     static_cast<std::uint64_t>(s.last_errno)});
        }
    }

    JsonLinesWriter* json_;
    ExportPath* exporter_;
    const UdpTransport& transport_;
    bool live_;
    Timestamp last_flush_{};
    std::atomic<bool> reopen_{false};
    Published<ExportCounters> published_;
    std::deque<Published<CollectorCounters>> collectors_;
};

}  // namespace spanflow
