// Buffered output to a file or stdout for the collector's JSON lines: the caller appends to the
// buffer and decides when to flush (large buffer, idle socket, exit), so a `tail -f` reader sees
// data soon while a burst costs few write calls.
#pragma once

#include <cstdint>
#include <string>

namespace spanflow::collector {

enum class WriteStatus : std::uint8_t { ok, failed };
struct WriteResult {
    WriteStatus status{WriteStatus::ok};
    int error{0};  // errno of the failed open or write
};

class LineWriter {
  public:
    // Flush once this much is buffered, even while datagrams keep coming.
    static constexpr std::size_t kFlushBytes = 1 << 20;

    LineWriter() = default;
    ~LineWriter();
    LineWriter(const LineWriter&) = delete;
    LineWriter& operator=(const LineWriter&) = delete;

    // "-" is stdout; any other path is created or truncated.
    [[nodiscard]] WriteResult open(const std::string& path);
    [[nodiscard]] std::string& buffer() { return buffer_; }
    [[nodiscard]] bool wants_flush() const { return buffer_.size() >= kFlushBytes; }
    // Writes out the whole buffer and empties it.
    [[nodiscard]] WriteResult flush();

  private:
    int fd_{-1};
    bool owns_fd_{false};
    std::string buffer_;
};

}  // namespace spanflow::collector
