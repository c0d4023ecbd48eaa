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
    // Log rotation (SIGHUP): flushes, closes and opens the same path again, so that lines go to
    // a new file once the old one has been renamed. Stdout is left alone. False (with `error`)
    // when the new file cannot be opened; lines are then dropped and counted until a reopen works.
    [[nodiscard]] bool reopen(std::string& error);
    [[nodiscard]] std::uint64_t reopens() const { return reopens_; }
    [[nodiscard]] std::uint64_t lost() const { return lost_; }

    [[nodiscard]] std::uint64_t records() const { return records_; }

  private:
    static constexpr std::size_t kFlushBytes = 1 << 16;
    std::FILE* file_{nullptr};
    bool owns_file_{false};
    bool failed_{false};
    std::string failure_;  // strerror of the first failed write
    std::string path_;
    std::string buffer_;
    std::uint64_t records_{0};
    std::uint64_t reopens_{0};
    std::uint64_t lost_{0};  // records with no file to go to, after a failed reopen
};

}  // namespace spanflow
