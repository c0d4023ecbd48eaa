// What the fuzz targets share: a fuzzer's bytes as a regular file that the mapped readers can map
// (a memfd, no disk), and a stop that libFuzzer reports with the input that caused it.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace spanflow::fuzz {

// The bytes as an anonymous regular file, named by its /proc path; closed when it goes.
class MemoryFile {
  public:
    MemoryFile(const std::uint8_t* data, std::size_t size) {
        fd_ = ::memfd_create("spanflow-fuzz", MFD_CLOEXEC);
        if (fd_ < 0) fail("memfd_create failed");
        for (std::size_t done = 0; done < size;) {
            const ssize_t n = ::write(fd_, data + done, size - done);
            if (n <= 0) fail("write to a memfd failed");
            done += static_cast<std::size_t>(n);
        }
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    ~MemoryFile() { ::close(fd_); }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] int fd() const { return fd_; }

    [[noreturn]] static void fail(const char* why) {
        std::fprintf(stderr, "fuzz: %s\n", why);
        std::abort();
    }

  private:
    int fd_{-1};
    std::string path_;
};

// A property the target checks; false aborts, so that libFuzzer keeps the input.
inline void require(bool ok, const char* what) {
    if (!ok) MemoryFile::fail(what);
}

}  // namespace spanflow::fuzz
