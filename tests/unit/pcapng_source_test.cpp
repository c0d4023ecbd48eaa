// The pcapng reader on files written here block by block: several sections in both byte orders,
// interfaces of different link types, snaplens and timestamp resolutions, every packet block
// type, blocks to skip, damage, and a file cut short or rewritten while it is read.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "capture/pcap_file_source.hpp"
#include "temp_file.hpp"

using spanflow::LinkType;
using spanflow::PcapFileSource;
using spanflow::PcapReader;
using spanflow::PollStatus;

namespace {


constexpr std::uint16_t kEthernet = 1;
constexpr std::uint16_t kRaw = 101;
constexpr std::uint16_t kSll = 113;
constexpr std::uint16_t kIpv4 = 228;
constexpr std::uint16_t kUsb = 189;  // a link type decode does not read

// A pcapng file written field by field; each section in its own byte order.
struct Pcapng {
    bool big{false};
    std::string bytes;

    void put(std::uint64_t v, int n, std::string& out) const {
        for (int i = 0; i < n; ++i) {
            int shift = big ? 8 * (n - 1 - i) : 8 * i;
            out.push_back(static_cast<char>(v >> shift));
        }
    }
    std::string u16(std::uint16_t v) const {
        std::string s;
        put(v, 2, s);
        return s;
    }
    std::string u32(std::uint32_t v) const {
        std::string s;
        put(v, 4, s);
        return s;
    }
    std::string u64(std::uint64_t v) const {
        std::string s;
        put(v, 8, s);
        return s;
    }
    static std::string padded(std::string s) {
        s.resize((s.size() + 3) / 4 * 4, '\0');
        return s;
    }
    Pcapng& block(std::uint32_t type, const std::string& body) {
        const std::string b = padded(body);
        const auto total = static_cast<std::uint32_t>(12 + b.size());
        bytes += u32(type) + u32(total) + b + u32(total);
        return *this;
    }
    std::string option(std::uint16_t code, const std::string& value) const {
        return u16(code) + u16(static_cast<std::uint16_t>(value.size())) + padded(value);
    }
    Pcapng& shb(bool big_endian, std::uint16_t minor = 0) {
        big = big_endian;
        return block(0x0A0D0D0A, u32(0x1A2B3C4D) + u16(1) + u16(minor) + u64(~0ULL));
    }
    Pcapng& idb(std::uint16_t linktype, std::uint32_t snaplen = 0,
                std::optional<std::uint8_t> tsresol = {},
                std::optional<std::int64_t> tsoffset = {}) {
        std::string body = u16(linktype) + u16(0) + u32(snaplen);
        body += option(2, "eth-test");  // if_name, skipped
        if (tsresol) body += option(9, std::string(1, static_cast<char>(*tsresol)));
        if (tsoffset) body += option(14, u64(static_cast<std::uint64_t>(*tsoffset)));
        body += option(0, "");
        return block(1, body);
    }
    Pcapng& epb(std::uint32_t interface, std::uint64_t units, const std::string& data,
                std::uint32_t wire = 0) {
        wire = wire == 0 ? static_cast<std::uint32_t>(data.size()) : wire;
        return block(6, u32(interface) + u32(static_cast<std::uint32_t>(units >> 32)) +
                            u32(static_cast<std::uint32_t>(units)) +
                            u32(static_cast<std::uint32_t>(data.size())) + u32(wire) +
                            padded(data) + option(1, "a comment") + option(0, ""));
    }
    Pcapng& opb(std::uint16_t interface, std::uint64_t units, const std::string& data) {
        return block(2, u16(interface) + u16(0) + u32(static_cast<std::uint32_t>(units >> 32)) +
                            u32(static_cast<std::uint32_t>(units)) +
                            u32(static_cast<std::uint32_t>(data.size())) +
                            u32(static_cast<std::uint32_t>(data.size())) + data);
    }
    Pcapng& spb(const std::string& data, std::uint32_t wire) { return block(3, u32(wire) + data); }
};

// An IPv4/UDP packet from 10.0.0.<src> with `payload` bytes after the UDP header.
std::string ipv4_udp(std::uint8_t src, std::size_t payload = 4) {
    const auto total = static_cast<std::uint16_t>(28 + payload);
    std::string p = {0x45,
                     0,
                     static_cast<char>(total >> 8),
                     static_cast<char>(total & 0xFF),
                     0,
                     0,
                     0,
                     0,
                     64,
                     17,
                     0,
                     0,
                     10,
                     0,
                     0,
                     static_cast<char>(src),
                     10,
                     0,
                     0,
                     99};
    p += std::string{0, 53, 0, 53, 0, static_cast<char>(8 + payload), 0, 0};
    p += std::string(payload, 'x');
    return p;
}
std::string ethernet(const std::string& ip) {
    return std::string(12, '\x02') + std::string{0x08, 0x00} + ip;
}
std::string sll(const std::string& ip) {
    return std::string{0, 0, 0, 1, 0, 6} + std::string(8, '\x02') + std::string{0x08, 0x00} + ip;
}

struct Packet {
    LinkType link;
    std::int64_t ts_ns;
    std::uint32_t captured, wire;
    std::string bytes;
};
struct Replay {
    std::string open_error;
    bool opened{false};
    bool mapped{false};
    LinkType link{};
    std::vector<Packet> packets;
    PollStatus status{};
    std::string error;
    spanflow::CaptureStats stats;
};

Replay replay(const std::string& path, PcapReader want = PcapReader::mapped,
              const std::string& filter = "") {
    Replay r;
    auto src = PcapFileSource::open(path, 7, r.open_error, want);
    if (!src) return r;
    r.opened = true;
    r.mapped = src->reader() == PcapReader::mapped;
    r.link = src->link_type();
    if (!filter.empty()) {
        spanflow::PacketFilter f;
        std::string error;
        REQUIRE_MESSAGE(f.compile(filter, src->datalink(), 262144, error), error);
        src->set_filter(std::move(f));
    }
    spanflow::PacketBatch batch;
    do {
        r.status = src->poll(batch);
        for (std::size_t i = 0; i < batch.count; ++i) {
            const auto& v = batch.packets[i];
            CHECK(v.ifindex == 7);
            r.packets.push_back(
                {v.link, v.ts.ns, v.captured_bytes, v.wire_bytes,
                 std::string(reinterpret_cast<const char*>(v.data), v.captured_bytes)});
        }
    } while (r.status == PollStatus::packets);
    r.error = src->error();
    r.stats = src->stats();
    return r;
}

constexpr std::int64_t kT0 = 1'700'000'000;  // seconds
constexpr std::int64_t kNs = 1'000'000'000;

}  // namespace

TEST_SUITE("capture") {
    TEST_CASE(
        "pcapng: sections in both byte orders, interfaces of their own link type, snaplen, "
        "resolution and offset") {
        const std::string e1 = ethernet(ipv4_udp(1));
        const std::string r2 = ipv4_udp(2, 40);
        const std::string s3 = sll(ipv4_udp(3));
        const std::string v4 = ipv4_udp(4, 100);
        Pcapng f;
        f.shb(false)
            .idb(kEthernet)                  // 0: microseconds
            .idb(kRaw, 32, 9)                // 1: nanoseconds, snaplen 32
            .idb(kSll, 0, 0x80 | 20, -3600)  // 2: 2^-20 s, an hour earlier
            .block(4, std::string(8, '\0'))  // name resolution
            .epb(0, kT0 * 1'000'000 + 250'000, e1)
            .epb(1, kT0 * kNs + 7, r2.substr(0, 32), static_cast<std::uint32_t>(r2.size()))
            .block(5, std::string(12, '\0'))         // interface statistics
            .epb(2, (kT0 << 20) + (1 << 19), s3)     // half a second
            .block(0x0A, std::string(16, '\0'))      // decryption secrets
            .block(0x40000BAD, std::string(8, 'c'))  // custom
            .block(0x1234, std::string(4, 'u'));     // a type yet to come
        f.shb(true)                                  // a second section, big-endian
            .idb(kIpv4, 52, 3, 10)                   // 0: milliseconds, ten seconds later
            .idb(kEthernet, 0, 12)                   // 1: picoseconds
            .spb(v4.substr(0, 50) + std::string(2, '\0'), static_cast<std::uint32_t>(v4.size()))
            .opb(1, 10'000'000 * 1'000'000'000'000ULL + 999'999, e1)  // 2^64 ps: 213 days
            .epb(0, kT0 * 1000 + 5, v4.substr(0, 52), static_cast<std::uint32_t>(v4.size()));
        TempFile file(f.bytes);
        Replay r = replay(file.path());
        REQUIRE_MESSAGE(r.opened, r.open_error);
        CHECK(r.mapped);
        CHECK(r.link == LinkType::ethernet);
        CHECK(r.status == PollStatus::end);
        CHECK_MESSAGE(r.error.empty(), r.error);
        REQUIRE(r.packets.size() == 6);
        auto check = [&](std::size_t i, LinkType link, std::int64_t ts, const std::string& bytes,
                         std::uint32_t wire) {
            CAPTURE(i);
            CHECK(r.packets[i].link == link);
            CHECK(r.packets[i].ts_ns == ts);
            CHECK(r.packets[i].bytes == bytes);
            CHECK(r.packets[i].captured == bytes.size());
            CHECK(r.packets[i].wire == wire);
        };
        check(0, LinkType::ethernet, kT0 * kNs + 250'000'000, e1, 46);
        check(1, LinkType::raw_ip, kT0 * kNs + 7, r2.substr(0, 32), 68);
        check(2, LinkType::linux_sll, (kT0 - 3600) * kNs + 500'000'000, s3, 48);
        // A simple packet block: the section's first interface, no time (0 plus the offset),
        // captured the least of its length and the snaplen.
        check(3, LinkType::raw_ipv4, 10 * kNs, v4.substr(0, 50) + std::string(2, '\0'), 128);
        check(4, LinkType::ethernet, 10'000'000 * kNs + 999, e1, 46);
        check(5, LinkType::raw_ipv4, (kT0 + 10) * kNs + 5'000'000, v4.substr(0, 52), 128);
        CHECK(r.stats.received == 6);
        CHECK(r.stats.skipped_link_type == 0);
    }

    TEST_CASE("pcapng: a file libpcap reads gives the same packets and times from both readers") {
        Pcapng f;
        f.shb(false).idb(kEthernet, 0, 9).idb(kEthernet, 0, 6).idb(kEthernet, 0, 0x80 | 10);
        for (std::uint32_t k = 0; k < 100; ++k) {
            f.epb(k % 3,
                  (kT0 + k) * (k % 3 == 0   ? kNs
                               : k % 3 == 1 ? 1'000'000
                                            : 1024) +
                      k,
                  ethernet(ipv4_udp(static_cast<std::uint8_t>(k), k)));
        }
        TempFile file(f.bytes);
        Replay mapped = replay(file.path(), PcapReader::mapped);
        Replay libpcap = replay(file.path(), PcapReader::libpcap);
        CHECK(mapped.mapped);
        CHECK_FALSE(libpcap.mapped);
        CHECK(mapped.status == PollStatus::end);
        CHECK(libpcap.status == PollStatus::end);
        REQUIRE(mapped.packets.size() == 100);
        REQUIRE(libpcap.packets.size() == 100);
        for (std::size_t i = 0; i < 100; ++i) {
            CAPTURE(i);
            CHECK(mapped.packets[i].ts_ns == libpcap.packets[i].ts_ns);
            CHECK(mapped.packets[i].bytes == libpcap.packets[i].bytes);
            CHECK(mapped.packets[i].wire == libpcap.packets[i].wire);
        }
    }

    TEST_CASE(
        "pcapng: damage after good packets is one error naming the packet, as libpcap "
        "words it") {
        const std::string p = ethernet(ipv4_udp(1));
        struct Case {
            const char* what;
            std::string tail;
            std::string error;
        };
        Pcapng ok;
        ok.shb(false).idb(kEthernet, 100);
        Pcapng le = ok;  // for the damaged blocks' fields
        std::vector<Case> cases = {
            {"a trailer that differs", le.u32(6) + le.u32(16) + le.u32(0) + le.u32(17),
             "packet 3: block total length in header and trailer don't match"},
            {"a length below 12", le.u32(6) + le.u32(8),
             "packet 3: block in pcapng dump file has a length of 8 < 12"},
            {"a length not a multiple of 4", le.u32(6) + le.u32(18) + std::string(10, '\0'),
             "packet 3: block in pcapng dump file has a length of 18 that is not a multiple of 4"},
            {"a block cut short", le.u32(6) + le.u32(64) + std::string(20, '\0'),
             "packet 3: truncated pcapng dump file; tried to read 56 bytes, only got 20"},
            {"a header cut short", le.u32(6),
             "packet 3: truncated pcapng dump file; tried to "
             "read 8 bytes, only got 4"},
        };
        Pcapng unknown = ok;
        unknown.epb(5, 0, p);
        cases.push_back({"an interface never described", unknown.bytes.substr(ok.bytes.size()),
                         "packet 3: a packet arrived on interface 5, but there's no Interface "
                         "Description Block for that interface"});
        Pcapng big = ok;
        big.epb(0, 0, std::string(101, 'x'));
        cases.push_back(
            {"a packet above the snaplen", big.bytes.substr(ok.bytes.size()),
             "packet 3: invalid packet capture length 101, bigger than snaplen of 100"});
        Pcapng bad_option = ok;
        bad_option.idb(kEthernet, 100, 30);
        cases.push_back({"a resolution too fine", bad_option.bytes.substr(ok.bytes.size()),
                         "packet 3: Interface Description Block if_tsresol option resolution "
                         "10^-30 is too high"});
        for (const Case& c : cases) {
            CAPTURE(c.what);
            Pcapng f = ok;
            f.epb(0, 1, p).epb(0, 2, p);
            f.bytes += c.tail;
            TempFile file(f.bytes);
            for (PcapReader want : {PcapReader::mapped, PcapReader::libpcap}) {
                Replay r = replay(file.path(), want);
                CAPTURE(r.mapped);
                REQUIRE(r.opened);
                CHECK(r.status == PollStatus::error);
                CHECK(r.packets.size() == 2);
                CHECK(r.error == c.error);
            }
        }
    }

    TEST_CASE("pcapng: interfaces of link types decode does not read are counted, not fatal") {
        const std::string e = ethernet(ipv4_udp(1));
        SUBCASE("the first one unreadable, a later one readable") {
            Pcapng f;
            f.shb(false).idb(kUsb).idb(kEthernet).epb(0, 1, "usb").epb(1, 2, e).epb(0, 3, "usb");
            TempFile file(f.bytes);
            Replay r = replay(file.path());
            REQUIRE_MESSAGE(r.opened, r.open_error);
            CHECK(r.link == LinkType::ethernet);
            CHECK(r.status == PollStatus::end);
            REQUIRE(r.packets.size() == 1);
            CHECK(r.packets[0].bytes == e);
            CHECK(r.stats.received == 3);
            CHECK(r.stats.skipped_link_type == 2);
        }
        SUBCASE("none readable before the first packet: refused, naming the first") {
            Pcapng f;
            f.shb(false).idb(kUsb).epb(0, 1, "usb").idb(kEthernet).epb(1, 2, e);
            TempFile file(f.bytes);
            Replay r = replay(file.path());
            CHECK_FALSE(r.opened);
            CHECK(r.open_error.find("unsupported link type USB_LINUX (DLT 189)") == 0);
        }
        SUBCASE("no interface at all, or a packet before one") {
            Pcapng none;
            none.shb(false).block(4, "name");
            TempFile a(none.bytes);
            CHECK(replay(a.path()).open_error ==
                  "cannot read capture: the capture file has no Interface Description Blocks");
            Pcapng early;
            early.shb(false).epb(0, 1, e).idb(kEthernet);
            TempFile b(early.bytes);
            CHECK(replay(b.path()).open_error ==
                  "cannot read capture: the capture file has a packet block before any Interface "
                  "Description Blocks");
        }
    }

    TEST_CASE("pcapng: a filter keeps the same packets on every link type of the file") {
        Pcapng f;
        f.shb(false).idb(kEthernet).idb(kRaw).idb(kSll);
        std::string tcp = ipv4_udp(9);
        tcp[9] = 6;  // not UDP
        for (std::uint32_t i = 0; i < 3; ++i) {
            auto frame = [&](const std::string& ip) {
                return i == 0 ? ethernet(ip) : i == 1 ? ip : sll(ip);
            };
            f.epb(i, 1, frame(ipv4_udp(static_cast<std::uint8_t>(i)))).epb(i, 2, frame(tcp));
        }
        TempFile file(f.bytes);
        Replay r = replay(file.path(), PcapReader::mapped, "udp");
        CHECK(r.status == PollStatus::end);
        REQUIRE(r.packets.size() == 3);
        CHECK(r.packets[0].link == LinkType::ethernet);
        CHECK(r.packets[1].link == LinkType::raw_ip);
        CHECK(r.packets[2].link == LinkType::linux_sll);
        CHECK(r.stats.filtered_out == 3);
    }

    TEST_CASE("pcapng: times before 1970 or after 2242 are counted and skipped") {
        const std::string e = ethernet(ipv4_udp(1));
        Pcapng f;
        f.shb(false).idb(kEthernet, 0, 0, -10).idb(kEthernet, 0, 0).epb(0, 5, e).epb(1, 5, e);
        f.epb(1, (std::uint64_t{1} << 33) + 1, e);
        TempFile file(f.bytes);
        Replay r = replay(file.path());
        REQUIRE(r.packets.size() == 1);
        CHECK(r.packets[0].ts_ns == 5 * kNs);
        CHECK(r.stats.skipped_bad_time == 2);
    }

    TEST_CASE(
        "a capture cut short or rewritten while it is read: an error at the packet, no "
        "SIGBUS") {
        // Many pages of packets, so that the cut lies well past what the first batch read.
        const std::string e = ethernet(ipv4_udp(1, 1000));
        Pcapng ng;
        ng.shb(false).idb(kEthernet);
        for (int i = 0; i < 2000; ++i) ng.epb(0, static_cast<std::uint64_t>(i), e);
        std::string classic = std::string{'\xd4', '\xc3', '\xb2', '\xa1', 2, 0, 4, 0} +
                              std::string(8, '\0') + std::string{'\xff', '\xff', 0, 0, 1, 0, 0, 0};
        for (int i = 0; i < 2000; ++i) {
            const auto n = static_cast<char>(e.size() & 0xFF);
            const auto h = static_cast<char>(e.size() >> 8);
            classic += std::string{static_cast<char>(i & 0xFF),
                                   static_cast<char>(i >> 8),
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   n,
                                   h,
                                   0,
                                   0,
                                   n,
                                   h,
                                   0,
                                   0} +
                       e;
        }
        for (const std::string* bytes : {&classic, &ng.bytes}) {
            const bool pcapng = bytes == &ng.bytes;
            CAPTURE(pcapng);
            Pcapng head;
            head.shb(false).idb(kEthernet);
            const std::size_t prefix = pcapng ? head.bytes.size() : 24;
            const std::size_t record = (bytes->size() - prefix) / 2000;
            for (bool rewrite : {false, true}) {
                CAPTURE(rewrite);
                TempFile file(*bytes);
                std::string error;
                auto src = PcapFileSource::open(file.path(), 0, error);
                REQUIRE(src != nullptr);
                CHECK(src->reader() == PcapReader::mapped);
                spanflow::PacketBatch batch;
                REQUIRE(src->poll(batch) == PollStatus::packets);
                std::size_t got = batch.count;
                const int fd = ::open(file.path().c_str(), O_WRONLY);
                REQUIRE(fd >= 0);
                // Cut in the middle of packet 1001 (or overwrite everything from there on).
                const std::size_t cut = prefix + 1000 * record + record / 2;
                if (rewrite) {
                    const std::string junk(bytes->size() - cut, '\xee');
                    REQUIRE(::pwrite(fd, junk.data(), junk.size(), static_cast<off_t>(cut)) ==
                            static_cast<ssize_t>(junk.size()));
                } else {
                    REQUIRE(::ftruncate(fd, static_cast<off_t>(cut)) == 0);
                }
                ::close(fd);
                PollStatus st;
                do {
                    st = src->poll(batch);
                    got += batch.count;
                } while (st == PollStatus::packets);
                CHECK(st == PollStatus::error);
                if (rewrite && !pcapng) {
                    // Packet 1001 keeps its header; its bytes are new. The next one is junk.
                    // (A pcapng block's trailer is its own: there packet 1001 is the damaged one.)
                    CHECK(got == 1001);
                    CHECK(src->error().rfind("packet 1002: ", 0) == 0);
                } else {
                    CHECK(got == 1000);
                    CHECK(src->error().rfind("packet 1001: ", 0) == 0);
                    if (!rewrite) CHECK(src->error().find("cut to") != std::string::npos);
                }
                MESSAGE(src->error());
            }
        }
    }
}
