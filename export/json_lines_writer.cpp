#include "export/json_lines_writer.hpp"

#include <cerrno>
#include <cstring>

#include "probe/core/flow_json.hpp"

namespace spanflow {

bool JsonLinesWriter::open(const std::string& path, std::string& error) {
    path_ = path;
    if (path == "-") {
        file_ = stdout;
        return true;
    }
    file_ = std::fopen(path.c_str(), "w");
    if (file_ == nullptr) {
        error = "cannot write " + path + ": " + std::strerror(errno);
        return false;
    }
    owns_file_ = true;
    buffer_.reserve(kFlushBytes * 2);
    return true;
}

JsonLinesWriter::~JsonLinesWriter() {
    std::string ignored;
    if (file_ != nullptr) (void)flush(ignored);
    if (owns_file_ && file_ != nullptr) std::fclose(file_);
}

bool JsonLinesWriter::reopen(std::string& error) {
    if (!owns_file_) return true;
    if (file_ != nullptr) {
        std::string ignored;
        (void)flush(ignored);  // a failure stays remembered: the run still ends with status 1
        std::fclose(file_);
    }
    file_ = std::fopen(path_.c_str(), "a");
    if (file_ == nullptr) {
        error = "cannot reopen " + path_ + ": " + std::strerror(errno);
        return false;
    }
    ++reopens_;
    return true;
}

void JsonLinesWriter::write(const FlowRecord& r) {
    if (file_ == nullptr) {
        ++lost_;
        return;
    }
    append_flow_json(buffer_, r);
    ++records_;
    if (buffer_.size() >= kFlushBytes) {
        std::string ignored;
        (void)flush(ignored);  // a failure is remembered and reported by the final flush
    }
}

bool JsonLinesWriter::flush(std::string& error) {
    if (file_ == nullptr) {
        if (lost_ != 0) {
            error = "cannot write " + path_ + ": " + std::to_string(lost_) +
                    " records lost after the file could not be reopened";
            return false;
        }
        return true;
    }
    // The first failure is kept, with its reason: a later reopen (SIGHUP) does not make the run
    // look clean, it still ends with status 1.
    auto failed = [this] {
        if (failure_.empty()) failure_ = std::strerror(errno);
        failed_ = true;
    };
    if (!buffer_.empty()) {
        if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) failed();
        buffer_.clear();
    }
    if (std::fflush(file_) != 0) failed();
    if (failed_)
        error = "cannot write " + (path_ == "-" ? std::string("stdout") : path_) + ": " + failure_;
    return !failed_;
}

}  // namespace spanflow
