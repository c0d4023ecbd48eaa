#include "export/collector/udp_listener.hpp"

#include <linux/sock_diag.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace spanflow::collector {

UdpListener::~UdpListener() {
    if (fd_ >= 0) ::close(fd_);
}

OpenResult UdpListener::open(const Endpoint& at) {
    const int family = at.ip_version == 6 ? AF_INET6 : AF_INET;
    const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return {OpenStatus::socket_failed, errno};

    // SO_RCVBUFFORCE passes the rmem_max cap when privileged; otherwise SO_RCVBUF gets what the
    // cap allows. Neither failing is fatal: the collector works, it may just drop under bursts.
    const int want = kReceiveBufferBytes;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0)
        (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);

    sockaddr_storage sa{};
    const socklen_t len = to_sockaddr(at, sa);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0) {
        const int err = errno;
        ::close(fd);
        return {OpenStatus::bind_failed, err};
    }

    sockaddr_storage bound{};
    socklen_t bound_len = sizeof bound;
    local_ = at;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) == 0) {
        if (auto e = from_sockaddr(bound, bound_len)) local_.port = e->port;
    }
    int granted = 0;
    socklen_t granted_len = sizeof granted;
    if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &granted_len) == 0)
        receive_buffer_bytes_ = granted;

    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
    buffers_.assign(kBatch * kMaxDatagramBytes, 0);
    lengths_.assign(kBatch, 0);
    sources_.assign(kBatch, Endpoint{});
    return {OpenStatus::ok, 0};
}

WaitStatus UdpListener::wait(std::chrono::milliseconds timeout) const {
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n > 0) return WaitStatus::ready;
    if (n == 0) return WaitStatus::timeout;
    return errno == EINTR ? WaitStatus::interrupted : WaitStatus::failed;
}

ReceiveResult UdpListener::receive() {
    std::array<mmsghdr, kBatch> msgs{};
    std::array<iovec, kBatch> iovs{};
    std::array<sockaddr_storage, kBatch> names{};
    for (std::size_t i = 0; i < kBatch; ++i) {
        iovs[i].iov_base = buffers_.data() + i * kMaxDatagramBytes;
        iovs[i].iov_len = kMaxDatagramBytes;
        msgs[i].msg_hdr.msg_name = &names[i];
        msgs[i].msg_hdr.msg_namelen = sizeof names[i];
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    int n;
    do {
        n = ::recvmmsg(fd_, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {ReceiveStatus::ok, 0, 0};
        return {ReceiveStatus::failed, 0, errno};
    }

    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        lengths_[i] = msgs[i].msg_len;
        sources_[i] = from_sockaddr(names[i], msgs[i].msg_hdr.msg_namelen).value_or(Endpoint{});
    }
    return {ReceiveStatus::ok, static_cast<std::size_t>(n), 0};
}

std::optional<std::uint32_t> UdpListener::kernel_drops() const {
    std::array<std::uint32_t, SK_MEMINFO_VARS> info{};
    socklen_t len = sizeof info;
    if (fd_ < 0 || ::getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, info.data(), &len) != 0 ||
        len < static_cast<socklen_t>((SK_MEMINFO_DROPS + 1) * sizeof(std::uint32_t)))
        return std::nullopt;
    return info[SK_MEMINFO_DROPS];
}

std::span<const std::uint8_t> UdpListener::datagram(std::size_t i) const {
    return {buffers_.data() + i * kMaxDatagramBytes, lengths_[i]};
}

}  // namespace spanflow::collector
