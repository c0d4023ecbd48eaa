// The collector's UDP socket: binds an IPv4 or IPv6 endpoint with a large receive buffer, waits
// with a timeout (so the caller notices signals and idleness) and receives datagrams in batches.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "export/collector/endpoint.hpp"

namespace spanflow::collector {

enum class OpenStatus : std::uint8_t { ok, socket_failed, bind_failed };
struct OpenResult {
    OpenStatus status{OpenStatus::ok};
    int error{0};  // errno of the failed call
};

enum class WaitStatus : std::uint8_t { ready, timeout, interrupted, failed };

enum class ReceiveStatus : std::uint8_t { ok, failed };
struct ReceiveResult {
    ReceiveStatus status{ReceiveStatus::ok};
    std::size_t count{0};  // datagrams now available through datagram()/source(); 0: none waiting
    int error{0};
};

class UdpListener {
  public:
    // A replay bursts thousands of datagrams faster than one thread decodes and writes JSON; the
    // default socket buffer (~200 KiB) would drop most of them.
    static constexpr int kReceiveBufferBytes = 64 * 1024 * 1024;
    // Datagrams per recvmmsg call.
    static constexpr std::size_t kBatch = 32;
    // The largest UDP payload, so that no datagram is ever cut.
    static constexpr std::size_t kMaxDatagramBytes = 65536;

    UdpListener() = default;
    ~UdpListener();
    UdpListener(const UdpListener&) = delete;
    UdpListener& operator=(const UdpListener&) = delete;

    // Opens a socket and binds it to `at` (port 0: an ephemeral port; see local()).
    [[nodiscard]] OpenResult open(const Endpoint& at);
    // The bound endpoint, with the port the kernel chose.
    [[nodiscard]] const Endpoint& local() const { return local_; }
    // The receive buffer the kernel granted, in bytes (it reports twice what it accounts for).
    [[nodiscard]] int receive_buffer_bytes() const { return receive_buffer_bytes_; }

    // Waits up to `timeout` for a datagram. A signal gives `interrupted`.
    [[nodiscard]] WaitStatus wait(std::chrono::milliseconds timeout) const;
    // Takes up to kBatch waiting datagrams without blocking. They stay valid until the next call.
    [[nodiscard]] ReceiveResult receive();
    [[nodiscard]] std::span<const std::uint8_t> datagram(std::size_t i) const;
    [[nodiscard]] const Endpoint& source(std::size_t i) const { return sources_[i]; }

    // Datagrams the kernel dropped for this socket since open, nearly always because the receive
    // buffer was full (SO_MEMINFO, Linux 4.12+; nullopt where it is not supported). Unlike the
    // sequence numbers, this also sees a burst lost at the very end of a stream.
    [[nodiscard]] std::optional<std::uint32_t> kernel_drops() const;

  private:
    int fd_{-1};
    Endpoint local_{};
    int receive_buffer_bytes_{0};
    std::vector<std::uint8_t> buffers_;  // kBatch slots of kMaxDatagramBytes
    std::vector<std::size_t> lengths_;
    std::vector<Endpoint> sources_;
};

}  // namespace spanflow::collector
