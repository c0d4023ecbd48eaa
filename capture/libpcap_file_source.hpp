// The libpcap file reader: every capture file the mapped reader does not take. pcapng, a pipe or
// "-" (nothing to map), a file mmap() refuses, old versions (2.0-2.3 and DG/UX 543.0, whose length
// fields may come swapped), the Kuznetzov record layout, byte-swapped LINUX_SLL, LINUX_SLL2 and
// NFLOG (libpcap rewrites host-order fields inside those packets), and every header libpcap
// rejects, so that its own words explain why.
//
// libpcap reads a stream of ours (fopencookie) that waits in poll() on the file and on an eventfd,
// so that wake() ends a read blocked on a pipe that sends nothing: a replay from a quiet pipe
// (`tcpdump -w - | spanflow -r -`) stops at once on SIGTERM and exports what it holds, where
// libpcap's own fread() would wait for the next bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "capture/file_source_common.hpp"

struct pcap;  // libpcap's handle, kept out of this header

namespace spanflow {

class LibpcapFileSource : public FileSourceCommon {
  public:
    // Opens `path`. On failure returns null and sets `error` to one line: why it cannot be read,
    // or which link type it has that decode does not understand.
    [[nodiscard]] static std::unique_ptr<LibpcapFileSource> open(const std::string& path,
                                                                 std::uint32_t ifindex,
                                                                 std::string& error);
    ~LibpcapFileSource();
    LibpcapFileSource(const LibpcapFileSource&) = delete;
    LibpcapFileSource& operator=(const LibpcapFileSource&) = delete;

    // The CaptureSource interface (capture/source.hpp): up to kBatchSize records that the filter
    // keeps (packets, end or error; never empty). Views stay valid until the next poll.
    [[nodiscard]] PollStatus poll(PacketBatch& batch);

    // Ends the replay: a poll() waiting for bytes returns at once, and this poll and every later
    // one end it (PollStatus::end) with the records read before. Any thread may call it.
    void wake();

  private:
    struct Input;  // the stream libpcap reads (libpcap_file_source.cpp)

    LibpcapFileSource(LinkType link, int dlt, std::uint32_t ifindex);  // out of line: Input
    PollStatus next_batch(PacketBatch& batch);

    std::unique_ptr<Input> input_;  // outlives handle_, whose pcap_close() closes the stream
    pcap* handle_{nullptr};
    std::unique_ptr<std::uint8_t[]> arena_;  // packet bytes of the current batch
};

}  // namespace spanflow
