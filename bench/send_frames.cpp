// send-frames: sends the frames of a classic pcap file out of one interface at a given rate,
// faster than tcpreplay (which tops out near 0.6 Mpps on the project's 2-vCPU machines), for the
// live capture rate benchmark (bench/live-rate). An AF_PACKET socket with PACKET_QDISC_BYPASS
// hands frames straight to the driver, 64 per sendmmsg() call; the rate is kept by sleeping
// until each batch is due. The file's frames are loaded into memory first and sent in a loop.
//
// usage: send-frames -i IFACE -r FILE [--pps N] [--count N]
// Prints "sent=N seconds=S pps=P" on stdout. Exit status 2 on a wrong option, 1 on a failure.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t kBatch = 64;
constexpr std::size_t kMaxFrames = 1 << 20;  // frames kept in memory, sent round and round

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "send-frames: %s\nusage: send-frames -i IFACE -r FILE [--pps N] [--count N]\n",
                 why.c_str());
    std::exit(2);
}

std::uint64_t whole(std::string_view name, std::string_view v) {
    std::uint64_t x = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc{} || end != v.data() + v.size() || x == 0)
        usage(std::string(name) + ": '" + std::string(v) + "' is not a whole number above 0");
    return x;
}

// The frames of a little-endian microsecond classic pcap file, as make-flow-pcap writes them.
std::vector<std::string> load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char header[24];
    if (!in.read(header, sizeof header)) usage("cannot read " + path);
    std::uint32_t magic;
    std::memcpy(&magic, header, 4);
    if (magic != 0xA1B2C3D4u) usage(path + ": not a little-endian microsecond pcap file");
    std::vector<std::string> frames;
    char record[16];
    while (frames.size() < kMaxFrames && in.read(record, sizeof record)) {
        std::uint32_t caplen;
        std::memcpy(&caplen, record + 8, 4);
        std::string frame(caplen, '\0');
        if (!in.read(frame.data(), caplen)) break;
        frames.push_back(std::move(frame));
    }
    if (frames.empty()) usage(path + ": no frames");
    return frames;
}

}  // namespace

int main(int argc, char** argv) {
    std::string iface, path;
    std::uint64_t pps = 100'000, count = 1'000'000;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (i + 1 >= argc) usage(std::string(a) + " needs a value");
        const std::string_view v = argv[++i];
        if (a == "-i") {
            iface = v;
        } else if (a == "-r") {
            path = v;
        } else if (a == "--pps") {
            pps = whole(a, v);
        } else if (a == "--count") {
            count = whole(a, v);
        } else {
            usage("unknown option '" + std::string(a) + "'");
        }
    }
    if (iface.empty() || path.empty()) usage("-i and -r are required");
    const std::vector<std::string> frames = load(path);

    const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: send only
    if (fd < 0) {
        std::fprintf(stderr, "send-frames: packet socket: %s\n", std::strerror(errno));
        return 1;
    }
    const int one = 1;
    (void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    to.sll_halen = ETH_ALEN;
    if (to.sll_ifindex == 0) usage("no interface " + iface);
    if (bind(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        std::fprintf(stderr, "send-frames: bind %s: %s\n", iface.c_str(), std::strerror(errno));
        return 1;
    }

    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    const auto start = std::chrono::steady_clock::now();
    const double ns_per_packet = 1e9 / static_cast<double>(pps);
    std::uint64_t sent = 0;
    std::size_t next = 0;
    while (sent < count) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(kBatch, count - sent));
        for (std::size_t i = 0; i < n; ++i) {
            const std::string& f = frames[next];
            next = (next + 1) % frames.size();
            iov[i] = {const_cast<char*>(f.data()), f.size()};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // Not before the batch is due: the rate holds on average over every batch.
        const auto due = start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                     static_cast<double>(sent) * ns_per_packet));
        std::this_thread::sleep_until(due);
        std::size_t done = 0;
        while (done < n) {
            const int r = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(n - done), 0);
            if (r < 0) {
                if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) continue;
                std::fprintf(stderr, "send-frames: send: %s\n", std::strerror(errno));
                return 1;
            }
            done += static_cast<std::size_t>(r);
        }
        sent += n;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("sent=%llu seconds=%.3f pps=%.0f\n", static_cast<unsigned long long>(sent), seconds,
                static_cast<double>(sent) / seconds);
    close(fd);
    return 0;
}
