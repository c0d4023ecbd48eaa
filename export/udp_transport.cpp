#include "export/udp_transport.hpp"
#include "probe/core/error_text.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace spanflow {
namespace {
// Room for a burst of datagrams while the kernel drains loopback or the NIC queue.
constexpr int kSendBufferBytes = 4 * 1024 * 1024;
}  // namespace

bool UdpTransport::open(const std::vector<SocketAddress>& collectors, std::string& error) {
    for (const SocketAddress& c : collectors) {
        int fd = socket(c.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error = "cannot open a UDP socket for " + c.to_string() + ": " + error_text(errno);
            return false;
        }
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSendBufferBytes, sizeof kSendBufferBytes);
        // Connected, so that the ICMP "port unreachable" of a collector that is down comes back
        // as ECONNREFUSED on a later send and is counted. Where there is no route yet, the socket
        // stays unconnected and sends are tried anyway: the route may come.
        const bool connected = connect(fd, c.get(), c.length) == 0;
        if (!connected) {
            // Bound now, so the local port is known from the start: the capture side leaves
            // the probe's own datagrams out by it.
            SocketAddress any;
            any.storage.ss_family = static_cast<sa_family_t>(c.family());
            any.length = c.length;
            (void)bind(fd, any.get(), any.length);
        }
        sockets_.push_back(fd);
        stats_.push_back(CollectorStats{});
        stats_.back().address = c;
        stats_.back().connected = connected;
        SocketAddress& local = stats_.back().local;
        local.length = sizeof local.storage;
        if (getsockname(fd, local.get(), &local.length) != 0) local.length = 0;
    }
    return true;
}

UdpTransport::~UdpTransport() {
    for (int fd : sockets_) close(fd);
}

void UdpTransport::send(std::span<const std::uint8_t> datagram) {
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        CollectorStats& s = stats_[i];
        bool waited = false;
        bool refusal_seen = false;
        for (;;) {
            ssize_t n = s.connected ? ::send(sockets_[i], datagram.data(), datagram.size(), 0)
                                    : sendto(sockets_[i], datagram.data(), datagram.size(), 0,
                                             s.address.get(), s.address.length);
            if (n == static_cast<ssize_t>(datagram.size())) {
                ++s.datagrams_sent;
                s.congested = false;
                break;
            }
            int err = n < 0 ? errno : EMSGSIZE;
            if (err == EINTR) continue;
            // A refusal reports an earlier datagram, and reading it cleared it: send this one.
            if (err == ECONNREFUSED && !refusal_seen) {
                refusal_seen = true;
                ++s.refused;
                continue;
            }
            bool full = err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
            // A full buffer is waited on once; if that wait runs out, the collector is marked
            // congested and later datagrams are not waited for until one goes through, so a
            // slow collector costs counted errors, not a probe running at 50 datagrams/s.
            if (full && !waited && !s.congested) {
                waited = true;
                pollfd p{sockets_[i], POLLOUT, 0};
                if (poll(&p, 1, static_cast<int>(kSendWait.count())) <= 0) s.congested = true;
                continue;
            }
            ++s.send_errors;
            s.last_error = error_text(err);
            s.last_errno = err;
            break;
        }
    }
}

std::uint64_t UdpTransport::send_errors() const {
    std::uint64_t n = 0;
    for (const auto& s : stats_) n += s.send_errors;
    return n;
}

}  // namespace spanflow
