// Capture file read rate: PcapFileSource::poll over a classic pcap of 1M 64-byte packets,
// from open to end, with the mapped reader and with libpcap forced.
//
// The capture is written twice with the same bytes: in 8 MiB writes and in 4 KiB writes (one
// stdio buffer at a time, as tcpdump writes). Linux keeps the first in large page-cache folios,
// which one fault maps by the megabyte, and the second in small ones, which the mapped reader
// faults in and unmaps 64 KiB at a time: that page-table work is then most of its cost. libpcap
// copies with read() and does not care.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "capture/pcap_file_source.hpp"

namespace {

constexpr std::size_t kPackets = std::size_t{1} << 20;
constexpr std::uint32_t kPacketBytes = 64;

// 1M records of 80 bytes: an 80 MiB file, in the page cache after the first pass and far larger
// than any CPU cache. Written once per process and removed at exit.
class BenchCapture {
  public:
    explicit BenchCapture(std::size_t write_bytes)
        : path_("/tmp/spanflow-bench-" + std::to_string(getpid()) + "-" +
                std::to_string(write_bytes) + ".pcap") {
        std::vector<std::uint8_t> file;
        file.reserve(24 + kPackets * (16 + kPacketBytes));
        auto u32 = [&](std::uint32_t v) {
            const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
            file.insert(file.end(), p, p + 4);
        };
        auto u16 = [&](std::uint16_t v) {
            const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
            file.insert(file.end(), p, p + 2);
        };
        u32(0xA1B2C3D4);  // microseconds, this host's byte order
        u16(2);
        u16(4);
        u32(0);
        u32(0);
        u32(65535);
        u32(1);  // Ethernet
        for (std::size_t i = 0; i < kPackets; ++i) {
            u32(1'700'000'000 + static_cast<std::uint32_t>(i / 1'000'000));
            u32(static_cast<std::uint32_t>(i % 1'000'000));
            u32(kPacketBytes);
            u32(kPacketBytes);
            file.resize(file.size() + kPacketBytes);
        }
        int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        for (std::size_t at = 0; fd >= 0 && at < file.size(); at += write_bytes) {
            std::size_t n = std::min(write_bytes, file.size() - at);
            if (::write(fd, file.data() + at, n) != static_cast<ssize_t>(n)) break;
        }
        if (fd >= 0) ::close(fd);
    }
    ~BenchCapture() { std::remove(path_.c_str()); }
    BenchCapture(const BenchCapture&) = delete;
    BenchCapture& operator=(const BenchCapture&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }

  private:
    std::string path_;
};

const std::string& bench_capture(std::size_t write_bytes) {
    static BenchCapture large(std::size_t{8} << 20);
    static BenchCapture small(std::size_t{4} << 10);
    return write_bytes == (std::size_t{8} << 20) ? large.path() : small.path();
}

void BM_PcapRead(benchmark::State& state, spanflow::PcapReader reader) {
    const std::string& path = bench_capture(static_cast<std::size_t>(state.range(0)));
    spanflow::PacketBatch batch;
    std::size_t packets = 0;
    for (auto _ : state) {
        std::string error;
        auto source = spanflow::PcapFileSource::open(path, 0, error, reader);
        if (!source || source->reader() != reader) {
            state.SkipWithError("cannot open the capture with this reader");
            break;
        }
        spanflow::PollStatus status;
        do {
            status = source->poll(batch);
            packets += batch.count;
            benchmark::DoNotOptimize(batch);
        } while (status == spanflow::PollStatus::packets);
        if (status != spanflow::PollStatus::end || source->packets_read() != kPackets) {
            state.SkipWithError("the capture did not read to its end");
            break;
        }
    }
    state.counters["Mpackets"] =
        benchmark::Counter(static_cast<double>(packets) / 1e6, benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_PcapRead, mapped, spanflow::PcapReader::mapped)
    ->ArgName("write_bytes")
    ->Arg(8 << 20)
    ->Arg(4 << 10)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PcapRead, libpcap, spanflow::PcapReader::libpcap)
    ->ArgName("write_bytes")
    ->Arg(8 << 20)
    ->Arg(4 << 10)
    ->Unit(benchmark::kMillisecond);

}  // namespace
