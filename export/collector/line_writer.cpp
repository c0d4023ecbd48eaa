#include "export/collector/line_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace spanflow::collector {

LineWriter::~LineWriter() {
    if (owns_fd_) ::close(fd_);
}

WriteResult LineWriter::open(const std::string& path) {
    if (path == "-") {
        fd_ = STDOUT_FILENO;
        owns_fd_ = false;
        return {};
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return {WriteStatus::failed, errno};
    if (owns_fd_) ::close(fd_);
    fd_ = fd;
    owns_fd_ = true;
    return {};
}

WriteResult LineWriter::flush() {
    std::size_t done = 0;
    while (done < buffer_.size()) {
        const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            buffer_.erase(0, done);
            return {WriteStatus::failed, err};
        }
        done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
    return {};
}

}  // namespace spanflow::collector
