// A capture file mapped read-only, for the readers that walk it in place (classic pcap and
// pcapng). Each byte is read once, front to back: the kernel reads ahead in large steps, and the
// pages behind the reader are given back as it goes.
//
// Another process may cut the file short, or rewrite it, while it is mapped; a read of a page past
// its new end then raises SIGBUS. spanflow's SIGBUS handler maps zero pages over the rest of such
// a mapping, notes where the first fault was, and lets the read go on: the reader asks cut() after
// each batch and, when it is set, reads that batch again within readable_bytes() and ends with one
// error line that names the first packet not wholly there. So a cut file never ends the process.
// A fault anywhere else goes to the handler that was there before, or ends the process as always.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace spanflow {

class MappedFile {
  public:
    // Maps the regular file `path` if it holds at least `min_bytes`; null otherwise (not a
    // regular file, too short, or mmap() refused), and the caller reads it some other way.
    [[nodiscard]] static std::unique_ptr<MappedFile> open(const std::string& path,
                                                          std::size_t min_bytes);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    [[nodiscard]] const std::uint8_t* data() const { return data_; }
    [[nodiscard]] std::size_t size() const { return size_; }  // as it was mapped

    // The reader is done with every byte before `offset`: the pages before it are given back in
    // 32 MiB steps, so that the mapped file does not show as resident memory of its whole size
    // (they stay in the page cache; only this process's mapping of them goes).
    void release_before(std::size_t offset);

    // True once a read of this mapping faulted, or shrank() found the file shorter: the file was
    // cut short while it was read.
    [[nodiscard]] bool cut() const;
    // Asks the file system whether the file is now shorter than it was mapped (one fstat()), and
    // makes cut() true if it is. For what looks like damage or the end: a cut in the middle of a
    // page does not fault, the rest of that page reads as zeros.
    bool shrank();
    // After cut(): the bytes that still hold the file's contents, the least of its size now and
    // the start of the first page that faulted.
    [[nodiscard]] std::size_t readable_bytes() const;

  private:
    MappedFile(int fd, void* map, std::size_t size, int slot)
        : fd_(fd), map_(map), data_(static_cast<const std::uint8_t*>(map)), size_(size), slot_(slot) {}

    int fd_;     // kept open to learn the file's size after a cut
    void* map_;  // for munmap() and madvise(); readers see it as data_
    const std::uint8_t* data_;
    std::size_t size_;
    int slot_;                 // in the SIGBUS handler's table of mappings
    std::size_t released_{0};  // the mapping before this is given back (page-aligned)
};

// Reads one byte of the mapping, so that a fault, if the file was cut, comes now.
inline void touch(const std::uint8_t* p) {
    (void)*static_cast<const volatile std::uint8_t*>(p);
}

// A mapped reader's error once cut() is set: the file ended early, at `readable` bytes.
[[nodiscard]] std::string cut_text(std::size_t readable);

}  // namespace spanflow
