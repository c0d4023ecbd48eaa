// Sends each export datagram to every configured collector over UDP (IPv4 and IPv6). A collector
// that is slow costs counted send errors, never a stall: sockets are non-blocking, and a full send
// buffer is waited on for at most kSendWait, and not again until the collector catches up. A
// collector that is down is counted too, where its host says so: the sockets are connected, so the
// ICMP port unreachable that answers a datagram comes back as ECONNREFUSED on the next send. That
// is counted as a refusal and the datagram is sent anyway (the refusal was for an earlier one, and
// this one may find the collector back, templates and all). A host that answers nothing cannot be
// told from a collector that is up: UDP has no acknowledgment, and those datagrams are lost.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "probe/core/socket_address.hpp"

namespace spanflow {

struct CollectorStats {
    SocketAddress address;
    std::uint64_t datagrams_sent{0};
    std::uint64_t send_errors{0};  // datagrams not sent
    std::uint64_t refused{0};      // ICMP port unreachable reports: nothing listens there
    std::string last_error;        // strerror of the latest failure, for the report
    int last_errno{0};             // ... and its errno
    SocketAddress local;           // the socket's own address and port (port always known)
    bool congested{false};         // the last wait for buffer space ran out: do not wait again yet
    bool connected{false};         // connect() succeeded: send(), and refusals are reported
};

class UdpTransport {
  public:
    static constexpr std::chrono::milliseconds kSendWait{20};

    // Opens one socket per collector. On failure returns false with `error` set to one line.
    [[nodiscard]] bool open(const std::vector<SocketAddress>& collectors, std::string& error);
    ~UdpTransport();

    void send(std::span<const std::uint8_t> datagram);

    [[nodiscard]] const std::vector<CollectorStats>& collectors() const { return stats_; }
    [[nodiscard]] std::uint64_t send_errors() const;

  private:
    std::vector<int> sockets_;
    std::vector<CollectorStats> stats_;
};

}  // namespace spanflow
