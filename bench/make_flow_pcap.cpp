// make-flow-pcap: writes a classic pcap of 64-byte Ethernet/IPv4 frames, each packet on a flow
// picked uniformly at random out of F flows, for end-to-end comparisons (compare-softflowd).
// Seeded and platform-independent (its own xoshiro256** and Lemire reduction, no <random>
// distributions), so one seed gives the same bytes everywhere. Standard library only.
//
// Every flow goes from 10.0.0.0/8 to 192.168.0.0/16, so no two flows are the two directions of
// one conversation: a bidirectional tracker (softflowd) keeps each as a flow of its own. TCP
// packets carry ACK only (no SYN, FIN or RST), so nothing ends a flow but the end of the file.
// Packets are 1/pps seconds apart, so the capture spans packets/pps seconds.
//
// On success it prints one line on stdout, what a flow meter must count:
//   flows=N packets=N bytes=N first_us=N last_us=N
// where flows is the number of distinct keys written and bytes the sum of IPv4 total lengths.
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t kFrameBytes = 64;  // captured and wire length of every frame
constexpr std::size_t kEthBytes = 14;
constexpr std::uint16_t kIpTotalLength = 50;   // 64 - 14: the frame holds the IP packet exactly
constexpr std::uint32_t kMaxFlows = 1u << 24;  // one source address per flow in 10.0.0.0/8
constexpr std::uint64_t kDefaultStartUs = 1'704'067'200ull * 1'000'000;  // 2024-01-01 00:00 UTC

enum class Proto { kTcp, kUdp, kMix };

struct Options {
    std::uint64_t flows = 1000;
    std::uint64_t packets = 10'000'000;
    std::uint64_t seed = 1;
    std::uint64_t pps = 1'000'000;  // packet-time rate: the capture spans packets / pps seconds
    std::uint64_t start_us = kDefaultStartUs;
    Proto proto = Proto::kMix;
    double zipf = 0;  // 0: uniform; s > 0: flow of rank r is picked with weight 1 / r^s
    std::string out;
};

// xoshiro256** seeded through splitmix64 (Blackman and Vigna): the same stream on any platform.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) {
        for (auto& s : s_) s = splitmix(seed);
    }
    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // Uniform in [0, n), n <= 2^32: Lemire's multiply-shift with rejection, no modulo bias.
    std::uint32_t below(std::uint32_t n) {
        for (;;) {
            const std::uint64_t x = next() >> 32;
            const std::uint64_t m = x * n;
            const auto low = static_cast<std::uint32_t>(m);
            if (low >= n || low >= (-n) % n) return static_cast<std::uint32_t>(m >> 32);
        }
    }
    static std::uint64_t splitmix(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

  private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::array<std::uint64_t, 4> s_{};
};

void store_be16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void store_be32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
void store_le16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
}
void store_le32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// The ones'-complement sum of 16-bit big-endian words (RFC 1071), not yet folded or inverted.
std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2)
        acc += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    if (n % 2) acc += static_cast<std::uint32_t>(p[n - 1] << 8);
    return acc;
}
std::uint16_t fold(std::uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
    return static_cast<std::uint16_t>(~acc);
}

// One flow's key, derived from its index alone (not from the packet stream): the source address
// is unique per flow, so keys are distinct; the rest is hashed to look less regular.
struct FlowKey {
    std::uint32_t src, dst;
    std::uint16_t sport, dport;
    std::uint8_t proto;
};

FlowKey flow_key(std::uint32_t index, std::uint64_t seed, Proto proto) {
    std::uint64_t h = seed ^ (static_cast<std::uint64_t>(index) << 20);
    const std::uint64_t a = Rng::splitmix(h);
    FlowKey k{};
    k.src = 0x0A000000u | index;                                     // 10.0.0.0/8
    k.dst = 0xC0A80000u | static_cast<std::uint16_t>(a);             // 192.168.0.0/16
    k.sport = static_cast<std::uint16_t>(1024 + (a >> 16) % 64512);  // 1024-65535
    static constexpr std::array<std::uint16_t, 6> kPorts = {53, 80, 123, 443, 8080, 4789};
    k.dport = kPorts[(a >> 32) % kPorts.size()];
    const bool tcp = proto == Proto::kTcp || (proto == Proto::kMix && index % 2 == 0);
    k.proto = tcp ? 6 : 17;
    return k;
}

// Builds one 64-byte frame: Ethernet, IPv4 (total length 50, checksummed), then TCP (ACK, with
// checksum) and 10 payload bytes, or UDP and 22 payload bytes (checksum 0: none, RFC 768).
void build_frame(std::uint8_t* f, const FlowKey& k, std::uint32_t flow_pkt) {
    std::memset(f, 0, kFrameBytes);
    static constexpr std::uint8_t kEth[kEthBytes] = {0x02, 0,   0, 0, 0, 0x02,  // destination MAC
                                                     0x02, 0,   0, 0, 0, 0x01,  // source MAC
                                                     0x08, 0x00};
    std::memcpy(f, kEth, kEthBytes);
    std::uint8_t* ip = f + kEthBytes;
    ip[0] = 0x45;
    store_be16(ip + 2, kIpTotalLength);
    store_be16(ip + 4, static_cast<std::uint16_t>(flow_pkt));  // identification
    store_be16(ip + 6, 0x4000);                                // DF
    ip[8] = 64;
    ip[9] = k.proto;
    store_be32(ip + 12, k.src);
    store_be32(ip + 16, k.dst);
    store_be16(ip + 10, fold(sum16(ip, 20)));
    std::uint8_t* l4 = ip + 20;
    const std::size_t l4_bytes = kIpTotalLength - 20;
    store_be16(l4, k.sport);
    store_be16(l4 + 2, k.dport);
    if (k.proto == 6) {
        store_be32(l4 + 4, 1000 + 10 * flow_pkt);  // sequence: 10 payload bytes a packet
        store_be32(l4 + 8, 1);
        l4[12] = 0x50;  // data offset 5 words
        l4[13] = 0x10;  // ACK only: nothing that starts or ends a flow
        store_be16(l4 + 14, 65535);
        std::uint32_t acc = sum16(ip + 12, 8);  // pseudo-header: addresses, protocol, length
        acc += 6 + static_cast<std::uint32_t>(l4_bytes);
        store_be16(l4 + 16, fold(sum16(l4, l4_bytes, acc)));
    } else {
        store_be16(l4 + 4, static_cast<std::uint16_t>(l4_bytes));
    }
}

// A wrong option: one line naming it and what is allowed, exit status 2.
[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "make-flow-pcap: %s (--help lists the options)\n", why.c_str());
    std::exit(2);
}

[[noreturn]] void help() {
    std::printf(
        "make-flow-pcap: writes a classic pcap of 64-byte Ethernet/IPv4 frames, each on a flow\n"
        "picked uniformly at random out of N, and prints flows=, packets=, bytes= on stdout.\n"
        "usage: make-flow-pcap -o FILE [--flows N] [--packets N] [--seed N] [--pps N]\n"
        "                      [--proto tcp|udp|mix] [--start-us N]\n"
        "  --flows N      flows to pick from, 1 to %u (default 1000)\n"
        "  --packets N    packets to write (default 10000000)\n"
        "  --seed N       random seed (default 1)\n"
        "  --pps N        packet-time rate: packets are 1/N s apart (default 1000000)\n"
        "  --proto P      tcp, udp, or mix: even flows TCP, odd UDP (default mix)\n"
        "  --start-us N   time of the first packet, us since 1970 (default 2024-01-01)\n"
        "  --zipf S       pick flows by Zipf's law instead: rank r with weight 1/r^S (S > 0,\n"
        "                 e.g. 1.0: a few elephant flows and a long tail of mice)\n",
        kMaxFlows);
    std::exit(0);
}

std::uint64_t number(std::string_view name, std::string_view v, std::uint64_t lo,
                     std::uint64_t hi) {
    std::uint64_t x = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc{} || end != v.data() + v.size() || x < lo || x > hi) {
        const std::string why = std::string(name) + ": '" + std::string(v) +
                                "' is not allowed; give a whole number from " + std::to_string(lo) +
                                " to " + std::to_string(hi);
        fail(why);
    }
    return x;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "-h" || a == "--help") help();
        if (i + 1 >= argc) fail(std::string(a) + " needs a value");
        const std::string_view v = argv[++i];
        if (a == "-o" || a == "--out") {
            o.out = v;
        } else if (a == "--flows") {
            o.flows = number(a, v, 1, kMaxFlows);
        } else if (a == "--packets") {
            o.packets = number(a, v, 1, std::uint64_t{1} << 40);
        } else if (a == "--seed") {
            o.seed = number(a, v, 0, UINT64_MAX);
        } else if (a == "--pps") {
            o.pps = number(a, v, 1, 1'000'000'000);
        } else if (a == "--start-us") {
            o.start_us = number(a, v, 0, std::uint64_t{UINT32_MAX} * 1'000'000);
        } else if (a == "--zipf") {
            double s = 0;
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
            if (ec != std::errc{} || end != v.data() + v.size() || !(s > 0) || s > 10)
                fail("--zipf: '" + std::string(v) +
                     "' is not allowed; give an exponent above 0, up to 10");
            o.zipf = s;
        } else if (a == "--proto") {
            if (v == "tcp") {
                o.proto = Proto::kTcp;
            } else if (v == "udp") {
                o.proto = Proto::kUdp;
            } else if (v == "mix") {
                o.proto = Proto::kMix;
            } else {
                fail("--proto: '" + std::string(v) + "' is not allowed; give tcp, udp or mix");
            }
        } else {
            fail("unknown option '" + std::string(a) + "'");
        }
    }
    if (o.out.empty()) fail("-o FILE is required");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const auto flows = static_cast<std::uint32_t>(o.flows);

    std::FILE* out = std::fopen(o.out.c_str(), "wb");
    if (!out) {
        std::fprintf(stderr, "make-flow-pcap: cannot write %s: %s\n", o.out.c_str(),
                     std::strerror(errno));
        return 1;
    }
    std::vector<char> io_buffer(std::size_t{1} << 20);
    std::setvbuf(out, io_buffer.data(), _IOFBF, io_buffer.size());

    // Classic pcap, microsecond times, little-endian, Ethernet (linktype 1).
    std::uint8_t header[24] = {};
    store_le32(header, 0xA1B2C3D4u);
    store_le16(header + 4, 2);
    store_le16(header + 6, 4);
    store_le32(header + 16, 65535);
    store_le32(header + 20, 1);
    std::fwrite(header, 1, sizeof header, out);

    // Keys are fixed per flow; each frame is rebuilt whole (IP id, TCP sequence and checksums
    // change per packet), which is still far faster than the disk.
    std::vector<FlowKey> keys(flows);
    for (std::uint32_t f = 0; f < flows; ++f) keys[f] = flow_key(f, o.seed, o.proto);
    std::vector<std::uint32_t> sent(flows, 0);

    Rng rng(o.seed);
    // Zipf: the cumulative weights of ranks 1..F, searched with a uniform draw in [0, total).
    // Doubles are IEEE everywhere, so the same seed still gives the same bytes.
    std::vector<double> cumulative;
    if (o.zipf > 0) {
        cumulative.resize(flows);
        double total = 0;
        for (std::uint32_t r = 0; r < flows; ++r) {
            total += 1.0 / std::pow(static_cast<double>(r + 1), o.zipf);
            cumulative[r] = total;
        }
    }
    auto pick = [&]() -> std::uint32_t {
        if (cumulative.empty()) return rng.below(flows);
        const double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53 * cumulative.back();
        const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
        return static_cast<std::uint32_t>(
            std::min<std::size_t>(static_cast<std::size_t>(it - cumulative.begin()), flows - 1));
    };
    std::uint8_t record[16 + kFrameBytes];
    std::uint64_t first_us = 0, last_us = 0;
    for (std::uint64_t i = 0; i < o.packets; ++i) {
        const std::uint32_t f = pick();
        // Integer arithmetic, so times do not drift: packet i is at start + i / pps seconds.
        const std::uint64_t us = o.start_us + (i * 1'000'000) / o.pps;
        if (i == 0) first_us = us;
        last_us = us;
        store_le32(record, static_cast<std::uint32_t>(us / 1'000'000));
        store_le32(record + 4, static_cast<std::uint32_t>(us % 1'000'000));
        store_le32(record + 8, kFrameBytes);
        store_le32(record + 12, kFrameBytes);
        build_frame(record + 16, keys[f], sent[f]++);
        std::fwrite(record, 1, sizeof record, out);
    }
    if (std::fflush(out) != 0 || std::ferror(out) || std::fclose(out) != 0) {
        std::fprintf(stderr, "make-flow-pcap: writing %s failed: %s\n", o.out.c_str(),
                     std::strerror(errno));
        return 1;
    }
    const auto distinct = static_cast<std::uint64_t>(
        std::count_if(sent.begin(), sent.end(), [](std::uint32_t n) { return n != 0; }));
    std::printf(
        "flows=%llu packets=%llu bytes=%llu first_us=%llu last_us=%llu\n",
        static_cast<unsigned long long>(distinct), static_cast<unsigned long long>(o.packets),
        static_cast<unsigned long long>(o.packets * kIpTotalLength),
        static_cast<unsigned long long>(first_us), static_cast<unsigned long long>(last_us));
    return 0;
}
