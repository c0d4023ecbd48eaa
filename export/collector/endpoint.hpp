// A UDP endpoint (IPv4 or IPv6 address and port) as the collector listens on and sees exporters:
// parsed from and printed as "192.0.2.1:2055" or "[2001:db8::1]:2055".
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spanflow::collector {

struct Endpoint {
    std::uint8_t ip_version{4};           // 4 or 6
    std::array<std::uint8_t, 16> addr{};  // network order; IPv4 uses the first 4 bytes, rest zero
    std::uint16_t port{0};

    friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

// "ADDR:PORT" with a numeric IPv4 address, or "[ADDR]:PORT" with a numeric IPv6 address; the port
// is 0..65535 (0: let the kernel choose). Anything else, host names included, gives nullopt.
[[nodiscard]] std::optional<Endpoint> parse_endpoint(std::string_view text);

// The inverse of parse_endpoint: "127.0.0.1:2055", "[::1]:2055".
[[nodiscard]] std::string format_endpoint(const Endpoint& e);

// Fills `sa` for bind/sendto and returns the length to pass with it.
[[nodiscard]] socklen_t to_sockaddr(const Endpoint& e, sockaddr_storage& sa);

// The endpoint of a socket address from the kernel. An IPv4-mapped IPv6 address (a dual-stack
// socket receiving from IPv4) becomes plain IPv4, so one exporter has one identity. nullopt for a
// family other than AF_INET/AF_INET6 or a length too short for it.
[[nodiscard]] std::optional<Endpoint> from_sockaddr(const sockaddr_storage& sa, socklen_t len);

}  // namespace spanflow::collector
