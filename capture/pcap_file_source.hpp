// Replays a capture file (pcap or pcapng, any byte order, any timestamp resolution): picks one of
// the three file sources once, at open, and holds it.
//
//   mapped   MappedPcapSource: classic pcap in a regular file, memory-mapped and read in place
//            (capture/mapped_pcap_source.hpp);
//            MappedPcapngSource: pcapng in a regular file, the same way, each interface with its
//            own link type (capture/mapped_pcapng_source.hpp);
//   libpcap  LibpcapFileSource: what neither takes (a pipe, standard input, old classic versions),
//            through libpcap (capture/libpcap_file_source.hpp).
//
// The runtime runs its capture loop on the source itself (visit()), so the choice costs nothing
// per packet; poll() and the rest forward to it, one branch per batch, for tests and tools.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "capture/libpcap_file_source.hpp"
#include "capture/mapped_pcap_source.hpp"
#include "capture/mapped_pcapng_source.hpp"

namespace spanflow {

// Which code reads the file (see the top of this file).
enum class PcapReader : std::uint8_t {
    mapped,   // as a request: map the file when it allows it, else libpcap
    libpcap,  // as a request: libpcap for every file (tests compare the two readers)
};

class PcapFileSource {
  public:
    // Opens `path`. On failure returns null and sets `error` to one line: why it cannot be read,
    // or which link type it has that decode does not understand.
    [[nodiscard]] static std::unique_ptr<PcapFileSource> open(const std::string& path,
                                                              std::uint32_t ifindex,
                                                              std::string& error,
                                                              PcapReader want = PcapReader::mapped);

    // Calls f(source) with the source that reads the file, as its own type.
    template <class F>
    decltype(auto) visit(F&& f) {
        return std::visit([&](auto& s) -> decltype(auto) { return f(*s); }, reader_);
    }
    template <class F>
    decltype(auto) visit(F&& f) const {
        return std::visit([&](const auto& s) -> decltype(auto) { return f(*s); }, reader_);
    }

    // The CaptureSource interface, forwarded.
    [[nodiscard]] PollStatus poll(PacketBatch& batch) {
        return visit([&](auto& s) { return s.poll(batch); });
    }
    void release(const PacketBatch&) {}
    // Ends the replay at once, also a read waiting on a pipe (LibpcapFileSource::wake(); the
    // mapped readers never wait). Any thread may call it.
    void wake() {
        visit([](auto& s) {
            if constexpr (requires { s.wake(); }) s.wake();
        });
    }
    [[nodiscard]] CaptureStats stats() const {
        return visit([](const auto& s) { return s.stats(); });
    }
    [[nodiscard]] LinkType link_type() const { return common().link_type(); }
    [[nodiscard]] int datalink() const { return common().datalink(); }
    [[nodiscard]] const std::string& error() const { return common().error(); }
    [[nodiscard]] std::uint64_t packets_read() const { return common().packets_read(); }
    [[nodiscard]] std::uint64_t packets_bad_time() const { return common().packets_bad_time(); }
    void set_filter(PacketFilter filter) {
        visit([&](auto& s) { s.set_filter(std::move(filter)); });
    }
    [[nodiscard]] PcapReader reader() const {
        return reader_.index() < 2 ? PcapReader::mapped : PcapReader::libpcap;
    }

  private:
    using Reader =
        std::variant<std::unique_ptr<MappedPcapSource>, std::unique_ptr<MappedPcapngSource>,
                     std::unique_ptr<LibpcapFileSource>>;
    explicit PcapFileSource(Reader reader) : reader_(std::move(reader)) {}
    [[nodiscard]] const FileSourceCommon& common() const {
        return visit([](const auto& s) -> const FileSourceCommon& { return s; });
    }

    Reader reader_;
};

}  // namespace spanflow
