// Writes ended flows as JSON lines (probe/core/flow_json.hpp) to a file or stdout, buffered.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "probe/core/flow_record.hpp"

namespace spanflow {

class JsonLinesWriter {
  public:
    // "-" is stdout. On failure returns false with `error` set to one line.
    [[nodiscard]] bool open(const std::string& path, std::string& error);
    ~JsonLinesWriter();

    void write(const FlowRecord& r);
    // Writes out the buffer; false (with `error`) when the file could not take it all.
    [[nodiscard]] bool flush(std::string& error);

    [[nodiscard]] std::uint64_t records() const { return records_; }

  private:
    static constexpr std::size_t kFlushBytes = 1 << 16;
    std::FILE* file_{nullptr};
    bool owns_file_{false};
    bool failed_{false};
    std::string path_;
    std::string buffer_;
    std::uint64_t records_{0};
};

}  // namespace spanflow
