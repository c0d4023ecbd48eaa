#include "export/collector/endpoint.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace spanflow::collector {

namespace {

constexpr std::size_t kIpv4Bytes = 4;
constexpr std::size_t kIpv6Bytes = 16;
// ::ffff:0:0/96, the prefix of IPv4 addresses seen through an IPv6 socket (RFC 4291, 2.5.5.2).
constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > 0xFFFF)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    Endpoint e;
    std::string_view address;
    std::string_view port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        address = text.substr(1, close - 1);
        port = text.substr(close + 2);
        e.ip_version = 6;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        address = text.substr(0, colon);
        port = text.substr(colon + 1);
        e.ip_version = 4;
    }
    // inet_pton needs a terminated string; an address longer than any numeric form is not one.
    char buf[INET6_ADDRSTRLEN] = {};
    if (address.empty() || address.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, address.data(), address.size());
    if (inet_pton(e.ip_version == 6 ? AF_INET6 : AF_INET, buf, e.addr.data()) != 1)
        return std::nullopt;
    const auto p = parse_port(port);
    if (!p) return std::nullopt;
    e.port = *p;
    return e;
}

std::string format_endpoint(const Endpoint& e) {
    char buf[INET6_ADDRSTRLEN] = {};
    const bool v6 = e.ip_version == 6;
    inet_ntop(v6 ? AF_INET6 : AF_INET, e.addr.data(), buf, sizeof buf);
    std::string out;
    if (v6) out += '[';
    out += buf;
    if (v6) out += ']';
    out += ':';
    out += std::to_string(e.port);
    return out;
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
        sockaddr_in s;
        std::memcpy(&s, &sa, sizeof s);
        e.ip_version = 4;
        std::memcpy(e.addr.data(), &s.sin_addr, kIpv4Bytes);
        e.port = ntohs(s.sin_port);
        return e;
    }
    if (sa.ss_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        sockaddr_in6 s;
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
