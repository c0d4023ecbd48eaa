// A file under /tmp for one test, holding the bytes it is given, removed when it goes out of scope.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

class TempFile {
  public:
    explicit TempFile(const std::string& bytes, const std::string& suffix = ".pcap") {
        static int serial = 0;
        path_ = "/tmp/spanflow-test-" + std::to_string(getpid()) + "-" + std::to_string(serial++) +
                suffix;
        std::ofstream(path_, std::ios::binary).write(bytes.data(), std::ssize(bytes));
    }
    ~TempFile() { std::remove(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;
};
