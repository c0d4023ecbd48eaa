#include "export/collector/endpoint.hpp"

#include "probe/core/socket_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace spanflow::collector {

namespace {

constexpr std::size_t kIpv4Bytes = 4;
constexpr std::size_t kIpv6Bytes = 16;
// ::ffff:0:0/96, the prefix of IPv4 addresses seen through an IPv6 socket (RFC 4291, 2.5.5.2).
constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

// Parsing and printing are the project's one ADDR:PORT syntax (probe/core/socket_address.hpp);
// an Endpoint is its comparable value form, for keying exporters.
std::optional<Endpoint> parse_endpoint(std::string_view text) {
    auto address = parse_socket_address(text);
    if (!address) return std::nullopt;
    return from_sockaddr(address->storage, address->length);
}

std::string format_endpoint(const Endpoint& e) {
    SocketAddress address;
    address.length = to_sockaddr(e, address.storage);
    return address.to_string();
}

socklen_t to_sockaddr(const Endpoint& e, sockaddr_storage& sa) {
    sa = sockaddr_storage{};
    if (e.ip_version == 6) {
        sockaddr_in6 s{};
        s.sin6_family = AF_INET6;
        s.sin6_port = htons(e.port);
        std::memcpy(&s.sin6_addr, e.addr.data(), kIpv6Bytes);
        std::memcpy(&sa, &s, sizeof s);
        return sizeof s;
    }
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_port = htons(e.port);
    std::memcpy(&s.sin_addr, e.addr.data(), kIpv4Bytes);
    std::memcpy(&sa, &s, sizeof s);
    return sizeof s;
}

std::optional<Endpoint> from_sockaddr(const sockaddr_storage& sa, socklen_t len) {
    Endpoint e;
    if (sa.ss_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        sockaddr_in s{};
        std::memcpy(&s, &sa, sizeof s);
        e.ip_version = 4;
        std::memcpy(e.addr.data(), &s.sin_addr, kIpv4Bytes);
        e.port = ntohs(s.sin_port);
        return e;
    }
    if (sa.ss_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        sockaddr_in6 s{};
        std::memcpy(&s, &sa, sizeof s);
        e.port = ntohs(s.sin6_port);
        const auto* a = reinterpret_cast<const std::uint8_t*>(&s.sin6_addr);
        if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), a)) {
            e.ip_version = 4;
            std::copy(a + kV4MappedPrefix.size(), a + kIpv6Bytes, e.addr.begin());
        } else {
            e.ip_version = 6;
            std::copy(a, a + kIpv6Bytes, e.addr.begin());
        }
        return e;
    }
    return std::nullopt;
}

}  // namespace spanflow::collector
