// A real UDP socket on loopback that exporters under test send to.
#pragma once

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "probe/core/socket_address.hpp"

namespace spanflow::test {

struct UdpReceiver {
    UdpReceiver() {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        address = *parse_socket_address("127.0.0.1:" + std::to_string(ntohs(a.sin_port)));
    }
    ~UdpReceiver() { close(fd); }
    UdpReceiver(const UdpReceiver&) = delete;
    UdpReceiver& operator=(const UdpReceiver&) = delete;

    // The next datagram, or an empty one after a second without any.
    std::vector<std::uint8_t> next() {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 1000) != 1) return {};
        std::vector<std::uint8_t> buf(65536);
        ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return buf;
    }

    int fd;
    SocketAddress address;
};

}  // namespace spanflow::test
