#include "capture/afxdp_source.hpp"
#include "probe/core/error_text.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>
#include <thread>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <thread>

// The XDP program's object, built by clang -target bpf and embedded at build time.
asm(".section .rodata\n"
    ".balign 8\n"
    ".global spanflow_xdp_object\n"
    "spanflow_xdp_object:\n"
    ".incbin \"" SPANFLOW_XDP_OBJECT
    "\"\n"
    ".global spanflow_xdp_object_end\n"
    "spanflow_xdp_object_end:\n"
    ".previous\n");
extern "C" const char spanflow_xdp_object[];
extern "C" const char spanflow_xdp_object_end[];

namespace spanflow {
namespace {

constexpr int kDlt_EN10MB = 1;  // pcap's DLT_EN10MB, for compiling the user-space filter
constexpr auto kStatsPeriod = std::chrono::seconds{1};

void say(const std::string& text) {
    fmt::print(stderr, "spanflow: {}\n", text);
}

// Every port with a program attached, for detach_all_afxdp_programs().
std::mutex g_ports_mutex;
std::vector<AfXdpPort*> g_ports;

// One ethtool query on `name`; false when the driver does not answer it.
bool ethtool(const std::string& name, void* request) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = static_cast<char*>(request);
    const bool ok = ::ioctl(fd, SIOCETHTOOL, &ifr) == 0;
    ::close(fd);
    return ok;
}

int interface_mtu(const std::string& name) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    const int mtu = ::ioctl(fd, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : 0;
    ::close(fd);
    return mtu;
}

enum class RssHash : std::uint8_t { unknown, addresses, ports };

// How the NIC spreads TCP and UDP over its queues (ethtool -n IF rx-flow-hash), read at start.
RssHash rss_hash(const std::string& name) {
    bool any = false;
    for (std::uint32_t flow : {TCP_V4_FLOW, UDP_V4_FLOW, TCP_V6_FLOW, UDP_V6_FLOW}) {
        ethtool_rxnfc nfc{};
        nfc.cmd = ETHTOOL_GRXFH;
        nfc.flow_type = flow;
        if (!ethtool(name, &nfc)) continue;
        any = true;
        if ((nfc.data & (RXH_L4_B_0_1 | RXH_L4_B_2_3)) != 0) return RssHash::ports;
    }
    return any ? RssHash::addresses : RssHash::unknown;
}

// Warns about offloads that change what XDP sees.
void warn_offloads(const std::string& name) {
    ethtool_value flags{};
    flags.cmd = ETHTOOL_GFLAGS;
    if (ethtool(name, &flags)) {
        if ((flags.data & ETH_FLAG_RXVLAN) != 0)
            say(fmt::format(
                "{}: rx-vlan-offload is on: a NIC that strips VLAN tags does so before XDP, and "
                "the flows lose their VLAN; to keep them: ethtool -K {} rxvlan off",
                name, name));
        if ((flags.data & ETH_FLAG_LRO) != 0)
            say(fmt::format(
                "{}: LRO is on: merged packets are counted as one; ethtool -K {} lro off", name,
                name));
    }
    ethtool_value gro{};
    gro.cmd = ETHTOOL_GGRO;
    if (ethtool(name, &gro) && gro.data != 0)
        say(
            fmt::format("{}: GRO is on: with native XDP off, merged packets are counted as one; "
                        "ethtool -K {} gro off",
                        name, name));
}

std::uint32_t attached_program_id(unsigned ifindex) {
    std::uint32_t id = 0;
    if (bpf_xdp_query_id(static_cast<int>(ifindex), 0, &id) != 0) return 0;
    return id;
}

std::string program_name(std::uint32_t id) {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) return {};
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    std::string name;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) name = info.name;
    ::close(fd);
    return name;
}

// Promiscuous mode by AF_PACKET membership: the kernel counts it and undoes it when the returned
// socket closes, so no exit leaves the port promiscuous. -1 on failure (errno says why).
int promiscuous_membership(unsigned ifindex) {
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    packet_mreq mreq{};
    mreq.mr_ifindex = static_cast<int>(ifindex);
    mreq.mr_type = PACKET_MR_PROMISC;
    if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

// The largest MTU whose frames fit a UMEM frame after XDP's headroom, with a VLAN tag.
constexpr int kLargestMtu = static_cast<int>(kXdpFrameBytes - kXdpHeadroom) - 14 - 8;

}  // namespace

struct AfXdpQueue::Rings {
    xsk_ring_cons rx{};
    xsk_ring_prod fill{};
    xsk_ring_cons completion{};
};

unsigned receive_queue_count(const std::string& name) {
    std::error_code ec;
    unsigned n = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator("/sys/class/net/" + name + "/queues", ec)) {
        if (entry.path().filename().string().rfind("rx-", 0) == 0) ++n;
    }
    return n;
}

AfXdpPort::AfXdpPort(std::string name, const AfXdpOptions& options)
    : name_(std::move(name)), options_(options) {}

std::unique_ptr<AfXdpPort> AfXdpPort::open(const std::string& name, std::uint32_t ifindex,
                                           const AfXdpOptions& options, std::string& error) {
    std::unique_ptr<AfXdpPort> port(new AfXdpPort(name, options));
    port->kernel_ifindex_ = if_nametoindex(name.c_str());
    if (port->kernel_ifindex_ == 0) {
        error = fmt::format("{}: no such interface", name);
        return nullptr;
    }
    port->flow_ifindex_ = ifindex != 0 ? ifindex : port->kernel_ifindex_.load();
    const unsigned available = receive_queue_count(name);
    unsigned queues = options.queues != 0 ? options.queues : std::max(available, 1u);
    if (available != 0 && queues > available) {
        error = fmt::format(
            "--queues {}: {} has {} receive queue{}; give at most that, or "
            "raise them (ethtool -L {} combined {})",
            queues, name, available, available == 1 ? "" : "s", name, queues);
        return nullptr;
    }
    const int mtu = interface_mtu(name);
    if (mtu > kLargestMtu) {
        error = fmt::format(
            "{}: MTU {} does not fit AF_XDP's {}-byte frames (at most MTU {}); lower it "
            "(ip link set {} mtu 1500) or use --backend pcap",
            name, mtu, kXdpFrameBytes, kLargestMtu, name);
        return nullptr;
    }

    // Refuse to replace a program that is not ours; it stays attached.
    if (const std::uint32_t other = attached_program_id(port->kernel_ifindex_); other != 0) {
        const std::string other_name = program_name(other);
        error = fmt::format(
            "{}: an XDP program is already attached (id {}{}); spanflow leaves it alone. {}"
            "Remove it first: ip link set dev {} xdp off",
            name, other, other_name.empty() ? "" : ", " + other_name,
            other_name == "spanflow_xdp" ? "It is spanflow's: another spanflow runs there, or one "
                                           "was killed. "
                                         : "",
            name);
        return nullptr;
    }

    // Load the embedded program. libbpf's own messages are off: each failure here is said in
    // one line of ours.
    libbpf_set_print(nullptr);
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "spanflow_xdp");
    port->object_ = bpf_object__open_mem(
        spanflow_xdp_object, static_cast<size_t>(spanflow_xdp_object_end - spanflow_xdp_object),
        &open_opts);
    if (port->object_ == nullptr || bpf_object__load(port->object_) != 0) {
        error = fmt::format(
            "{}: cannot load spanflow's XDP program: {} (AF_XDP needs root or "
            "CAP_BPF and CAP_NET_ADMIN)",
            name, error_text(errno));
        return nullptr;
    }
    bpf_program* program = bpf_object__find_program_by_name(port->object_, "spanflow_xdp");
    port->program_fd_ = program != nullptr ? bpf_program__fd(program) : -1;
    port->xsks_map_fd_ = bpf_object__find_map_fd_by_name(port->object_, "xsks_map");
    port->unserved_fd_ = bpf_object__find_map_fd_by_name(port->object_, "unserved");
    if (port->program_fd_ < 0 || port->xsks_map_fd_ < 0 || port->unserved_fd_ < 0) {
        error = fmt::format("{}: spanflow's XDP program is incomplete", name);
        return nullptr;
    }
    bpf_prog_info info{};
    std::uint32_t info_len = sizeof info;
    if (bpf_obj_get_info_by_fd(port->program_fd_, &info, &info_len) == 0)
        port->program_id_ = info.id;

    // Attach: native, or generic when the driver has no native XDP (auto).
    std::string mode_name;
    int attach_errno = 0;
    for (XdpMode mode : {XdpMode::native, XdpMode::generic}) {
        if (options.mode != XdpMode::automatic && options.mode != mode) continue;
        const std::uint32_t flags =
            XDP_FLAGS_UPDATE_IF_NOEXIST |
            (mode == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
        if (bpf_xdp_attach(static_cast<int>(port->kernel_ifindex_), port->program_fd_, flags,
                           nullptr) == 0) {
            port->attach_flags_ = flags & ~XDP_FLAGS_UPDATE_IF_NOEXIST;
            mode_name = mode == XdpMode::native ? "native mode" : "generic mode";
            break;
        }
        attach_errno = errno;
    }
    if (mode_name.empty()) {
        error =
            fmt::format("{}: cannot attach an XDP program{}: {}{}", name,
                        options.mode == XdpMode::native    ? " in native mode"
                        : options.mode == XdpMode::generic ? " in generic mode"
                                                           : "",
                        error_text(attach_errno),
                        attach_errno == EPERM ? " (AF_XDP needs root or CAP_BPF and CAP_NET_ADMIN)"
                        : options.mode == XdpMode::native
                            ? " (the driver has no native XDP: try --xdp-mode generic)"
                            : "");
        return nullptr;
    }
    port->attached_ = true;
    {
        std::lock_guard lock(g_ports_mutex);
        g_ports.push_back(port.get());
    }

    if (options.promiscuous) {
        port->promisc_fd_ = promiscuous_membership(port->kernel_ifindex_);
        if (port->promisc_fd_ < 0) {
            error = fmt::format("{}: cannot set promiscuous mode: {}", name, error_text(errno));
            return nullptr;  // the destructor detaches
        }
    }

    // One socket per queue; zero-copy first unless told otherwise. The first queue decides:
    // the others take the same mode.
    std::string copy_note = options.zero_copy == ZeroCopy::off ? " (--zero-copy off)" : "";
    bool zero_copy = options.zero_copy != ZeroCopy::off;
    for (unsigned q = 0; q < queues; ++q) {
        port->queues_.push_back(std::unique_ptr<AfXdpQueue>(new AfXdpQueue(*port, q)));
        AfXdpQueue& queue = *port->queues_.back();
        std::string why;
        if (zero_copy && !queue.open(XDP_USE_NEED_WAKEUP | XDP_ZEROCOPY, why)) {
            if (options.zero_copy == ZeroCopy::required) {
                error = fmt::format(
                    "{} queue {}: zero-copy refused ({}); --zero-copy auto falls "
                    "back to copy mode",
                    name, q, why);
                return nullptr;
            }
            zero_copy = false;
            copy_note = fmt::format(" (zero-copy refused: {})", why);
        } else if (zero_copy) {
            continue;
        }
        if (!queue.open(XDP_USE_NEED_WAKEUP | XDP_COPY, why)) {
            error = fmt::format("{} queue {}: cannot open an AF_XDP socket: {}", name, q, why);
            return nullptr;
        }
    }
    mode_name += zero_copy ? ", zero-copy" : ", copy" + copy_note;
    port->bind_flags_ = XDP_USE_NEED_WAKEUP | (zero_copy ? XDP_ZEROCOPY : XDP_COPY);

    // Can each queue own its flows?
    const RssHash hash = queues > 1 ? rss_hash(name) : RssHash::addresses;
    if (queues == 1 || hash == RssHash::addresses) {
        port->one_queue_per_key_ = true;
    } else if (hash == RssHash::ports) {
        port->one_queue_per_key_ = options.rss_ports;
        if (!options.rss_ports)
            say(fmt::format(
                "{}: the NIC hashes TCP/UDP ports to pick a queue, so a datagram's first fragment "
                "and its unfragmented packets can reach two queues; flows are gathered by key "
                "across queues instead (slower). To hash on addresses only: ethtool -N {} "
                "rx-flow-hash udp4 sd (and tcp4, udp6, tcp6); or accept the split with --rss ports",
                name, name));
    } else {
        // A veth, or a driver that does not say: gathered by key, unless --rss ports accepts
        // whatever split the interface makes.
        port->one_queue_per_key_ = options.rss_ports;
    }
    port->description_ = fmt::format("{}, {} queue{}", mode_name, queues, queues == 1 ? "" : "s");
    warn_offloads(name);
    return port;
}

std::vector<AfXdpQueue*> AfXdpPort::queues() const {
    std::vector<AfXdpQueue*> out;
    for (const auto& q : queues_) out.push_back(q.get());
    return out;
}

std::uint64_t AfXdpPort::unserved_packets() const {
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0 || unserved_fd_ < 0) return 0;
    std::vector<std::uint64_t> values(static_cast<std::size_t>(cpus));
    std::uint64_t total = 0;
    for (std::uint32_t q = 0; q < 256; ++q) {
        if (bpf_map_lookup_elem(unserved_fd_, &q, values.data()) != 0) continue;
        for (std::uint64_t v : values) total += v;
    }
    return total;
}

std::uint32_t AfXdpPort::reattach() {
    std::lock_guard lock(detach_mutex_);
    if (detached_for_good_) return 0;
    const unsigned now = if_nametoindex(name_.c_str());
    if (now == 0) return 0;  // still away
    if (now == kernel_ifindex_) return attached_ ? generation_ : 0;
    // The program went with the old interface; the new one gets the same checks as at start.
    attached_ = false;
    std::string why;
    if (const int mtu = interface_mtu(name_); mtu > kLargestMtu) {
        why = fmt::format("MTU {} does not fit AF_XDP's frames (at most MTU {})", mtu, kLargestMtu);
    } else if (const std::uint32_t other = attached_program_id(now); other != 0) {
        why = fmt::format("an XDP program is already attached (id {}); left alone", other);
    } else if (bpf_xdp_attach(static_cast<int>(now), program_fd_,
                              attach_flags_ | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr) != 0) {
        why = fmt::format("cannot attach the XDP program: {}", error_text(errno));
    }
    if (!why.empty()) {
        if (why != said_) say(fmt::format("{}: is back, but not captured: {}", name_, why));
        said_ = why;
        return 0;
    }
    said_.clear();
    kernel_ifindex_ = now;
    attached_ = true;
    if (promisc_fd_ >= 0) {
        ::close(promisc_fd_);
        promisc_fd_ = promiscuous_membership(now);
        if (promisc_fd_ < 0)
            say(fmt::format("{}: cannot set promiscuous mode again: {}", name_, error_text(errno)));
    }
    return ++generation_;
}

void AfXdpPort::detach() {
    std::lock_guard lock(detach_mutex_);
    detached_for_good_ = true;
    if (!attached_) return;
    attached_ = false;
    // Only if it is still ours: a re-created interface has none, and another may be there.
    if (attached_program_id(kernel_ifindex_) == program_id_)
        (void)bpf_xdp_detach(static_cast<int>(kernel_ifindex_), attach_flags_, nullptr);
}

AfXdpPort::~AfXdpPort() {
    detach();  // before the sockets close
    {
        std::lock_guard lock(g_ports_mutex);
        std::erase(g_ports, this);
    }
    queues_.clear();
    if (promisc_fd_ >= 0) ::close(promisc_fd_);  // the kernel undoes the membership
    if (object_ != nullptr) bpf_object__close(object_);
}

void detach_all_afxdp_programs() {
    std::lock_guard lock(g_ports_mutex);
    for (AfXdpPort* p : g_ports) p->detach();
}

AfXdpQueue::AfXdpQueue(AfXdpPort& port, unsigned queue)
    : port_(port),
      queue_(queue),
      name_(fmt::format("{}/q{}", port.name_, queue)),
      flow_ifindex_(port.flow_ifindex_),
      rings_(std::make_unique<Rings>()),
      generation_(port.generation_) {}

bool AfXdpQueue::open(std::uint16_t bind_flags, std::string& error) {
    const std::uint32_t ring = port_.options_.ring_size;
    const std::uint32_t frames = 2 * ring;  // = the fill ring: every frame starts in it
    area_bytes_ = std::size_t{frames} * kXdpFrameBytes;
    area_ = ::mmap(nullptr, area_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (area_ == MAP_FAILED) {
        area_ = nullptr;
        error = std::string("cannot map the UMEM: ") + error_text(errno);
        return false;
    }
    xsk_umem_config umem_config{};
    umem_config.fill_size = frames;
    umem_config.comp_size = XSK_RING_CONS__DEFAULT_NUM_DESCS;
    umem_config.frame_size = kXdpFrameBytes;
    umem_config.frame_headroom = 0;
    int rc = xsk_umem__create(&umem_, area_, area_bytes_, &rings_->fill, &rings_->completion,
                              &umem_config);
    if (rc != 0) {
        error = std::string("cannot create the UMEM: ") + error_text(-rc);
        umem_ = nullptr;
        ::munmap(area_, area_bytes_);
        area_ = nullptr;
        return false;
    }
    xsk_socket_config config{};
    config.rx_size = ring;
    config.tx_size = 0;
    // libxdp's union of its flags and libbpf's old name for them: this is the member it reads.
    config.libxdp_flags =  // NOLINT(cppcoreguidelines-pro-type-union-access)
        XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // the port attached its own
    config.xdp_flags = port_.attach_flags_;
    config.bind_flags = bind_flags;
    rc = xsk_socket__create(&xsk_, port_.name_.c_str(), queue_, umem_, &rings_->rx, nullptr,
                            &config);
    if (rc != 0) {
        error = error_text(-rc);
        xsk_ = nullptr;
        (void)xsk_umem__delete(umem_);
        umem_ = nullptr;
        ::munmap(area_, area_bytes_);
        area_ = nullptr;
        return false;
    }
    fd_ = xsk_socket__fd(xsk_);
    bound_ifindex_ = port_.kernel_ifindex_;
    std::uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&rings_->fill, frames, &idx) != frames) {
        error = "cannot stock the fill ring";
        return false;
    }
    for (std::uint32_t i = 0; i < frames; ++i)
        *xsk_ring_prod__fill_addr(&rings_->fill, idx + i) = std::uint64_t{i} * kXdpFrameBytes;
    xsk_ring_prod__submit(&rings_->fill, frames);
    rc = xsk_socket__update_xskmap(xsk_, port_.xsks_map_fd_);
    if (rc != 0) {
        error = std::string("cannot enter the socket in the XSKMAP: ") + error_text(-rc);
        return false;
    }
    if (!filter_.compile(port_.options_.filter, kDlt_EN10MB, static_cast<int>(kXdpFrameBytes),
                         error))
        return false;
    return true;
}

AfXdpQueue::~AfXdpQueue() {
    close_socket();
}

void AfXdpQueue::close_socket() {
    read_kernel_stats();
    closed_ = stats_;
    if (xsk_ != nullptr) xsk_socket__delete(xsk_);
    if (umem_ != nullptr) (void)xsk_umem__delete(umem_);
    if (area_ != nullptr) ::munmap(area_, area_bytes_);
    xsk_ = nullptr;
    umem_ = nullptr;
    area_ = nullptr;
    fd_ = -1;
    *rings_ = Rings{};
}

void AfXdpQueue::read_kernel_stats() {
    if (fd_ < 0) return;
    xdp_statistics s{};
    socklen_t len = sizeof s;
    if (::getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &s, &len) == 0) {
        // Cumulative for the socket's life; those of the sockets before it are in closed_.
        stats_.dropped_kernel = closed_.dropped_kernel + s.rx_dropped + s.rx_invalid_descs;
        stats_.dropped_ring_full = closed_.dropped_ring_full + s.rx_ring_full;
        stats_.buffers_empty = closed_.buffers_empty + s.rx_fill_ring_empty_descs;
    }
    if (queue_ == 0) stats_.unserved_queues = port_.unserved_packets();
}

void AfXdpQueue::periodic() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_periodic_) return;
    next_periodic_ = now + kStatsPeriod;
    read_kernel_stats();
    if (!lost_ && if_nametoindex(port_.name_.c_str()) != bound_ifindex_) {
        lost_ = true;
        close_socket();
        say(fmt::format("{}: the interface went away; capturing again when it is back", name_));
    }
    if (!lost_) return;
    const std::uint32_t generation = port_.reattach();
    if (generation == 0 || generation == generation_) return;
    std::string why;
    if (!open(port_.bind_flags_, why)) {
        close_socket();
        if (why != said_) say(fmt::format("{}: cannot capture again yet: {}", name_, why));
        said_ = why;
        return;
    }
    said_.clear();
    lost_ = false;
    generation_ = generation;
    ++stats_.reopens;
    say(fmt::format("{}: capturing again (reopen {})", name_, stats_.reopens));
}

PollStatus AfXdpQueue::poll(PacketBatch& batch) {
    batch.count = 0;
    periodic();
    std::uint32_t idx = 0;
    std::uint32_t n = lost_ ? 0 : xsk_ring_cons__peek(&rings_->rx, kBatchSize, &idx);
    if (n == 0 && busy_ && !lost_) {
        busy_ = false;
        std::this_thread::sleep_for(kBusyNap);
        n = xsk_ring_cons__peek(&rings_->rx, kBatchSize, &idx);
    }
    if (n == 0) {
        if (!lost_ && xsk_ring_prod__needs_wakeup(&rings_->fill))
            (void)::recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
        pollfd p{lost_ ? -1 : fd_, POLLIN, 0};
        (void)::poll(&p, 1, static_cast<int>(kPollTimeout.count()));
        if (!lost_) n = xsk_ring_cons__peek(&rings_->rx, kBatchSize, &idx);
        if (n == 0) {
            ++stats_.empty_polls;
            return PollStatus::empty;
        }
    }
    busy_ = true;
    const Timestamp now = realtime_now();  // one reading per batch: descriptors carry no time
    auto* base = static_cast<std::uint8_t*>(area_);
    for (std::uint32_t i = 0; i < n; ++i) {
        const xdp_desc* d = xsk_ring_cons__rx_desc(&rings_->rx, idx + i);
        held_addr_[i] = xsk_umem__extract_addr(d->addr);
        PacketView& v = batch.packets[i];
        v.data = static_cast<const std::uint8_t*>(
            xsk_umem__get_data(base, xsk_umem__add_offset_to_addr(d->addr)));
        v.captured_bytes = d->len;  // the whole frame: AF_XDP never cuts
        v.wire_bytes = d->len;
        v.ts = now;
        v.ifindex = flow_ifindex_;
    }
    held_ = n;
    return take_batch(batch, n, filter_, stats_);
}

void AfXdpQueue::release(const PacketBatch&) {
    if (held_ == 0) return;
    std::uint32_t idx = 0;
    // Room is certain: the frames out are exactly the fill ring's free slots.
    while (xsk_ring_prod__reserve(&rings_->fill, held_, &idx) != held_) {
        (void)::recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
    for (std::uint32_t i = 0; i < held_; ++i)
        *xsk_ring_prod__fill_addr(&rings_->fill, idx + i) = held_addr_[i];
    xsk_ring_prod__submit(&rings_->fill, held_);
    xsk_ring_cons__release(&rings_->rx, held_);
    held_ = 0;
}

}  // namespace spanflow
