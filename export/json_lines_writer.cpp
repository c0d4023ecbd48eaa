#include "export/json_lines_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "probe/core/error_text.hpp"
#include "probe/core/flow_json.hpp"

namespace spanflow {
namespace {
// The most records one buffer holds: it is written out once it passes kFlushBytes, and a JSON
// line is far longer than this many bytes apart.
constexpr std::size_t kMostBufferedRecords = 1024;
}  // namespace

JsonLinesWriter::JsonLinesWriter() {
    buffer_.reserve(kFlushBytes * 2);
    ends_.reserve(kMostBufferedRecords);
}

bool JsonLinesWriter::open(const std::string& path, std::string& error) {
    path_ = path;
    if (path == "-") {
        fd_ = STDOUT_FILENO;
        return true;
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) {
        error = "cannot write " + path + ": " + error_text(errno);
        return false;
    }
    owns_fd_ = true;
    return true;
}

JsonLinesWriter::~JsonLinesWriter() {
    if (fd_ >= 0) (void)flush();
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

bool JsonLinesWriter::reopen(std::string& error) {
    if (path_ == "-") return true;
    if (fd_ >= 0) {
        (void)flush();  // a failure stays remembered: the run still ends with status 1
        ::close(fd_);
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd_ < 0) {
        error = "cannot reopen " + path_ + ": " + error_text(errno);
        return false;
    }
    ++reopens_;
    return true;
}

void JsonLinesWriter::write(const FlowRecord& r) {
    ++records_;
    if (fd_ < 0) {
        ++lost_;
        return;
    }
    append_flow_json(buffer_, r);
    ends_.push_back(buffer_.size());
    if (buffer_.size() >= kFlushBytes || ends_.size() == kMostBufferedRecords) (void)flush();
}

bool JsonLinesWriter::flush() {
    std::size_t done = 0;
    int error = 0;
    while (done < buffer_.size()) {
        const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = n < 0 ? errno : ENOSPC;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    // Records whose line went out whole are written; the rest are lost with this buffer.
    const auto whole = static_cast<std::size_t>(std::upper_bound(ends_.begin(), ends_.end(), done) -
                                                ends_.begin());
    written_ += whole;
    unwritten_ += ends_.size() - whole;
    // Half a line in a regular file would spoil the line after it, once the file takes lines
    // again: it is cut off. (A pipe keeps what it took.)
    const std::size_t partial = done - (whole == 0 ? 0 : ends_[whole - 1]);
    if (error != 0 && partial != 0) {
        const off_t at = ::lseek(fd_, 0, SEEK_CUR);
        if (at >= static_cast<off_t>(partial) &&
            ::ftruncate(fd_, at - static_cast<off_t>(partial)) == 0)
            (void)::lseek(fd_, at - static_cast<off_t>(partial), SEEK_SET);
    }
    buffer_.clear();
    ends_.clear();
    if (error != 0 && failure_.empty()) {
        failure_ = "cannot write " + (path_ == "-" ? std::string("stdout") : path_) + ": " +
                   error_text(error);
    }
    return error == 0;
}

std::string JsonLinesWriter::take_failure() {
    if (failure_.empty() || failure_taken_) return {};
    failure_taken_ = true;
    return failure_;
}

}  // namespace spanflow
