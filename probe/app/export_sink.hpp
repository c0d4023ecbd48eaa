// The pipeline's RecordSink for a run: ended flows go to the JSON-lines writer and the export
// path (v5, v9 or IPFIX over UDP), on the exporter thread.
#pragma once

#include "export/export_path.hpp"
#include "export/json_lines_writer.hpp"
#include "probe/app/pipeline.hpp"

namespace spanflow {

// Either may be null: a run without -w or without collectors.
class ExportSink final : public RecordSink {
  public:
    ExportSink(JsonLinesWriter* json, ExportPath* exporter) : json_(json), exporter_(exporter) {}
    void start(Timestamp first_packet) override {
        if (exporter_ != nullptr) exporter_->set_start_time(first_packet);
    }
    void records(const FlowRecord* records, std::size_t count, Timestamp now) override {
        for (std::size_t i = 0; i < count; ++i) {
            if (json_ != nullptr) json_->write(records[i]);
            if (exporter_ != nullptr) exporter_->add(records[i], now);
        }
        if (exporter_ != nullptr) exporter_->poll(now);
    }
    void finish(Timestamp now) override {
        if (exporter_ != nullptr) exporter_->finish(now);
    }

  private:
    JsonLinesWriter* json_;
    ExportPath* exporter_;
};

}  // namespace spanflow
