// Writes ended flows as JSON lines (probe/core/flow_json.hpp) to a file or stdout, buffered.
//
// A write that fails (a full disk, a closed pipe) loses only the lines it held: they are counted as
// not written, the first failure's reason is kept for one error line, and later records are
// written again as soon as the file takes them (a disk with room again, a file reopened by
// SIGHUP). The run goes on: flows still go to the collectors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "probe/core/flow_record.hpp"

namespace spanflow {

class JsonLinesWriter {
  public:
    JsonLinesWriter();
    ~JsonLinesWriter();
    JsonLinesWriter(const JsonLinesWriter&) = delete;
    JsonLinesWriter& operator=(const JsonLinesWriter&) = delete;

    // "-" is stdout. On failure returns false with `error` set to one line.
    [[nodiscard]] bool open(const std::string& path, std::string& error);

    void write(const FlowRecord& r);
    // Writes out the buffer; false when the file did not take all of it.
    bool flush();
    // Log rotation (SIGHUP): flushes, closes and opens the same path again (appending), so that
    // lines go to a new file once the old one has been renamed. Stdout is left alone. False (with
    // `error`) when the new file cannot be opened; lines are then dropped and counted until a
    // reopen works.
    [[nodiscard]] bool reopen(std::string& error);

    // Once after the first failed write: "cannot write FILE: reason"; empty otherwise.
    [[nodiscard]] std::string take_failure();
    [[nodiscard]] bool failed() const { return !failure_.empty(); }

    [[nodiscard]] std::uint64_t records() const { return records_; }      // handed to write()
    [[nodiscard]] std::uint64_t written() const { return written_; }      // in the file
    [[nodiscard]] std::uint64_t unwritten() const { return unwritten_; }  // lost to a write error
    [[nodiscard]] std::uint64_t lost() const { return lost_; }  // no file, after a failed reopen
    [[nodiscard]] std::uint64_t reopens() const { return reopens_; }

  private:
    static constexpr std::size_t kFlushBytes = 1 << 16;
    int fd_{-1};
    bool owns_fd_{false};
    std::string path_;
    std::string buffer_;
    std::vector<std::size_t> ends_;  // where each buffered record's line ends in buffer_
    std::string failure_;            // the first failed write's line
    bool failure_taken_{false};
    std::uint64_t records_{0};
    std::uint64_t written_{0};
    std::uint64_t unwritten_{0};
    std::uint64_t lost_{0};
    std::uint64_t reopens_{0};
};

}  // namespace spanflow
