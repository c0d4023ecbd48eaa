// Numeric IPv4/IPv6 socket addresses as users write them: 127.0.0.1:2055, [::1]:2055.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace spanflow {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length{0};

    [[nodiscard]] int family() const { return storage.ss_family; }
    [[nodiscard]] const sockaddr* get() const {
        return reinterpret_cast<const sockaddr*>(&storage);
    }
    [[nodiscard]] sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
    [[nodiscard]] unsigned port() const;
    // "127.0.0.1:2055" or "[::1]:2055".
    [[nodiscard]] std::string to_string() const;
};

// Parses ADDR:PORT with a numeric IPv4 address or a bracketed IPv6 one; no name lookups.
[[nodiscard]] std::optional<SocketAddress> parse_socket_address(std::string_view text);

}  // namespace spanflow
