#include "capture/dpdk_source.hpp"
#include "probe/core/error_text.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

namespace spanflow {
namespace {

constexpr int kDlt_EN10MB = 1;  // pcap's DLT_EN10MB, for compiling the user-space filter
constexpr auto kStatsPeriod = std::chrono::seconds{1};
// Per-lcore mbuf cache of each pool: DPDK's most (RTE_MEMPOOL_CACHE_MAX_SIZE) is 512.
constexpr unsigned kPoolCache = 256;

std::string port_name(std::uint16_t port) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    if (rte_eth_dev_get_name_by_port(port, name) != 0) return fmt::format("port{}", port);
    return name;
}

std::vector<std::string> split_blanks(const std::string& text) {
    std::vector<std::string> words;
    std::istringstream in(text);
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

// The EAL's output while it starts: its log and its standard error (it writes a fatal start's
// alert there as well) into a temporary file, its standard output (its usage, when it refuses an
// argument) into nothing, so that a refusal is one line of ours.
class QuietEal {
  public:
    QuietEal() : file_(std::tmpfile()) {
        if (file_ == nullptr) return;
        rte_openlog_stream(file_);
        (void)std::fflush(stdout);
        (void)std::fflush(stderr);
        for (int fd : {STDOUT_FILENO, STDERR_FILENO}) saved_[fd] = ::dup(fd);
        ::dup2(::fileno(file_), STDERR_FILENO);
        const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) {
            ::dup2(null, STDOUT_FILENO);
            ::close(null);
        }
    }
    ~QuietEal() { (void)restore(); }
    QuietEal(const QuietEal&) = delete;
    QuietEal& operator=(const QuietEal&) = delete;

    // Stops capturing; returns what the EAL wrote.
    std::string restore() {
        if (file_ == nullptr) return captured_;
        (void)std::fflush(stdout);
        (void)std::fflush(stderr);
        for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
            if (saved_[fd] < 0) continue;
            ::dup2(saved_[fd], fd);
            ::close(saved_[fd]);
        }
        rte_openlog_stream(nullptr);  // back to stderr
        (void)std::fflush(file_);
        std::rewind(file_);
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file_)) > 0;)
            captured_.append(buffer, n);
        (void)std::fclose(file_);
        file_ = nullptr;
        return captured_;
    }

  private:
    FILE* file_{nullptr};
    int saved_[3]{-1, -1, -1};
    std::string captured_;
};

// Why the EAL refused to start, from what it wrote: the line before its "FATAL:" alert (the
// alert itself only says "Invalid 'command line' arguments"), else its last line; without the
// "EAL: " or program-name prefix.
std::string eal_reason(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
        if (!line.empty()) lines.push_back(line);
    }
    if (lines.empty()) return {};
    auto fatal = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.find("FATAL: ") != std::string::npos;
    });
    std::string why = fatal == lines.end()     ? lines.back()
                      : fatal == lines.begin() ? *fatal
                                               : *(fatal - 1);
    for (const char* prefix : {"spanflow: ", "EAL: ", "FATAL: "})
        if (why.starts_with(prefix)) why.erase(0, std::strlen(prefix));
    return why;
}

// The Toeplitz key suricata and ipfixprobe use (0x6D5A repeated): symmetric, so both directions
// of a conversation land on one queue.
std::vector<std::uint8_t> symmetric_rss_key(std::size_t bytes) {
    std::vector<std::uint8_t> key(bytes);
    for (std::size_t i = 0; i < bytes; ++i) key[i] = i % 2 == 0 ? 0x6D : 0x5A;
    return key;
}

}  // namespace

DpdkQueue::DpdkQueue(std::uint16_t port, std::uint16_t queue, std::string name,
                     std::uint32_t ifindex, PacketFilter filter)
    : port_(port),
      queue_(queue),
      name_(std::move(name)),
      flow_ifindex_(ifindex),
      filter_(std::move(filter)) {}

DpdkQueue::~DpdkQueue() {
    if (held_count_ != 0) rte_pktmbuf_free_bulk(held_, held_count_);
}

void DpdkQueue::read_port_stats() {
    rte_eth_stats s{};
    if (rte_eth_stats_get(port_, &s) != 0) return;
    // Port-wide counters go in queue 0's cell only, so that a sum over queues counts them once.
    if (queue_ == 0) {
        stats_.dropped_ring_full = s.imissed;
        stats_.buffers_empty = s.rx_nombuf;
        stats_.receive_errors = s.ierrors;
    }
    if (queue_ < RTE_ETHDEV_QUEUE_STAT_CNTRS) stats_.dropped_interface = s.q_errors[queue_];
}

void DpdkQueue::finish() {
    read_port_stats();
    if (thread_registered_) rte_thread_unregister();
    thread_registered_ = false;
}

PollStatus DpdkQueue::poll(PacketBatch& batch) {
    batch.count = 0;
    if (!thread_checked_) {
        // A thread DPDK did not start has no lcore id, and its mbuf pools then no per-core
        // cache: every burst would take the pool's shared ring. Registering gives it one.
        thread_checked_ = true;
        if (rte_lcore_id() == LCORE_ID_ANY) thread_registered_ = rte_thread_register() == 0;
    }
    const auto now_steady = std::chrono::steady_clock::now();
    if (now_steady >= next_stats_) {
        next_stats_ = now_steady + kStatsPeriod;
        read_port_stats();
    }
    const std::uint16_t n = rte_eth_rx_burst(port_, queue_, held_, kBatchSize);
    if (n == 0) {
        ++stats_.empty_polls;
        if (++idle_polls_ > kSpinPolls) std::this_thread::sleep_for(kIdleNap);
        return PollStatus::empty;
    }
    idle_polls_ = 0;
    const Timestamp now = realtime_now();  // one reading per burst: plain mbufs carry no time
    for (std::uint16_t i = 0; i < n; ++i) {
        const rte_mbuf* m = held_[i];
        PacketView& v = batch.packets[i];
        v.data = rte_pktmbuf_mtod(m, const std::uint8_t*);
        v.captured_bytes = rte_pktmbuf_data_len(m);  // the first segment: pools hold an MTU
        v.wire_bytes = rte_pktmbuf_pkt_len(m);
        v.ts = now;
        v.ifindex = flow_ifindex_;
    }
    held_count_ = n;
    return take_batch(batch, n, filter_, stats_);
}

void DpdkQueue::release(const PacketBatch&) {
    if (held_count_ == 0) return;
    rte_pktmbuf_free_bulk(held_, held_count_);
    held_count_ = 0;
}

std::unique_ptr<DpdkCapture> DpdkCapture::open(const DpdkOptions& options, std::string& error) {
    std::unique_ptr<DpdkCapture> capture(new DpdkCapture());

    std::vector<std::string> words = split_blanks(options.eal_args);
    const bool log_level_given = std::any_of(words.begin(), words.end(), [](const std::string& w) {
        return w.starts_with("--log-level");
    });
    words.insert(words.begin(), "spanflow");
    std::vector<char*> argv;
    argv.reserve(words.size() + 1);
    for (std::string& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);

    // The EAL pins this thread to the first core of -l; the threads started later would inherit
    // that. The mask from before is put back.
    cpu_set_t affinity;
    const bool have_affinity = sched_getaffinity(0, sizeof affinity, &affinity) == 0;
    if (!log_level_given) rte_log_set_global_level(RTE_LOG_WARNING);
    int rc = 0;
    std::string log;
    {
        QuietEal quiet;
        rc = rte_eal_init(static_cast<int>(words.size()), argv.data());
        log = quiet.restore();
    }
    if (have_affinity) (void)sched_setaffinity(0, sizeof affinity, &affinity);
    if (rc < 0) {
        const std::string why = eal_reason(log);
        error = fmt::format("--dpdk-args: DPDK's EAL refused '{}': {}", options.eal_args,
                            why.empty() ? rte_strerror(rte_errno) : why);
        return nullptr;
    }
    capture->eal_started_ = true;
    if (rte_eth_dev_count_avail() == 0) {
        // A device that failed to probe says why first (a vdev's missing file, say).
        const std::string why = log.substr(0, log.find('\n'));
        error = fmt::format(
            "--dpdk-args: DPDK found no port{}{}; name one with -a PCI_ADDRESS (a NIC bound to "
            "vfio-pci) or --vdev (e.g. --vdev net_pcap0,rx_pcap=FILE)",
            why.empty() ? "" : ": ", why);
        return nullptr;
    }
    if (!log.empty()) (void)std::fputs(log.c_str(), stderr);  // warnings of a start that worked
    std::uint16_t port = 0;
    RTE_ETH_FOREACH_DEV(port) {
        if (!capture->open_port(port, options, error)) return nullptr;
    }
    return capture;
}

bool DpdkCapture::open_port(std::uint16_t port, const DpdkOptions& options, std::string& error) {
    const std::string name = port_name(port);
    rte_eth_dev_info info{};
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) {
        error = fmt::format("{}: cannot read the port's capabilities: {}", name, rte_strerror(-rc));
        return false;
    }
    const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
    const unsigned queues =
        options.queues != 0 ? options.queues : std::min<unsigned>(info.max_rx_queues, cores);
    if (queues == 0 || queues > info.max_rx_queues) {
        error = fmt::format("--queues {}: {} has {} receive queue{}; give at most that", queues,
                            name, info.max_rx_queues, info.max_rx_queues == 1 ? "" : "s");
        return false;
    }

    rte_eth_conf conf{};
    conf.rxmode.offloads = 0;  // nothing that changes packets: no VLAN strip, no LRO
    std::vector<std::uint8_t> key;
    std::string spread = "one queue";
    bool one_queue_per_key = true;
    if (queues > 1) {
        const std::uint64_t wanted =
            options.rss_ports
                ? (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_SCTP)
                : RTE_ETH_RSS_IP;
        const std::uint64_t hashed = wanted & info.flow_type_rss_offloads;
        if (hashed != 0) {
            key = symmetric_rss_key(info.hash_key_size != 0 ? info.hash_key_size : 40);
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = key.data();
            conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<std::uint8_t>(key.size());
            conf.rx_adv_conf.rss_conf.rss_hf = hashed;
            spread = options.rss_ports ? "RSS on addresses and ports" : "RSS on addresses";
        } else {
            // A virtual device spreads packets its own way (one file per queue, the kernel's
            // fanout hash): nothing promises that a key stays on one queue.
            spread = "no RSS (the driver spreads packets its own way)";
            one_queue_per_key = false;
        }
    }
    rc = rte_eth_dev_configure(port, static_cast<std::uint16_t>(queues), 0, &conf);
    if (rc != 0) {
        error = fmt::format("{}: cannot set up {} receive queue{}: {}", name, queues,
                            queues == 1 ? "" : "s", rte_strerror(-rc));
        return false;
    }
    configured_ports_.push_back(port);
    std::uint16_t descriptors = options.descriptors;
    std::uint16_t no_tx = 0;
    (void)rte_eth_dev_adjust_nb_rx_tx_desc(port, &descriptors, &no_tx);

    // Pools: 2^k-1 mbufs (the mempool's ring is a power of two, one slot spare) for the ring
    // twice over, a burst in decode and every core's cache; one segment fits the MTU and two
    // VLAN tags.
    std::uint16_t mtu = RTE_ETHER_MTU;
    (void)rte_eth_dev_get_mtu(port, &mtu);
    const unsigned frame =
        std::max<unsigned>(RTE_MBUF_DEFAULT_DATAROOM,
                           (mtu + RTE_ETHER_HDR_LEN + 8 + RTE_ETHER_CRC_LEN + 1023) / 1024 * 1024);
    const unsigned pool_size = std::bit_ceil(2U * descriptors +
                                             2U * static_cast<unsigned>(kBatchSize) +
                                             2U * kPoolCache) -
                               1;
    int socket = rte_eth_dev_socket_id(port);
    if (socket < 0) socket = SOCKET_ID_ANY;
    const std::uint32_t ifindex =
        options.first_ifindex != 0 ? options.first_ifindex + port : port + 1U;
    for (unsigned q = 0; q < queues; ++q) {
        const std::string pool_name = fmt::format("sf_p{}_q{}", port, q);
        rte_mempool* pool = rte_pktmbuf_pool_create(
            pool_name.c_str(), pool_size, kPoolCache, 0,
            static_cast<std::uint16_t>(RTE_PKTMBUF_HEADROOM + frame), socket);
        if (pool == nullptr) {
            error = fmt::format(
                "{}: cannot allocate {} mbufs of {} bytes for queue {}: {} (give the EAL more "
                "memory: huge pages, or -m MEGABYTES)",
                name, pool_size, RTE_PKTMBUF_HEADROOM + frame, q, rte_strerror(rte_errno));
            return false;
        }
        pools_.push_back(pool);
        rc = rte_eth_rx_queue_setup(port, static_cast<std::uint16_t>(q), descriptors,
                                    static_cast<unsigned>(socket), nullptr, pool);
        if (rc != 0) {
            error =
                fmt::format("{}: cannot set up receive queue {}: {}", name, q, rte_strerror(-rc));
            return false;
        }
        PacketFilter filter;
        if (!options.filter.empty() &&
            !filter.compile(options.filter, kDlt_EN10MB, static_cast<int>(frame), error)) {
            return false;
        }
        queues_.push_back(std::unique_ptr<DpdkQueue>(
            new DpdkQueue(port, static_cast<std::uint16_t>(q), fmt::format("{}/q{}", name, q),
                          ifindex, std::move(filter))));
    }
    std::string promiscuous = "promiscuous";
    if (options.promiscuous) {
        rc = rte_eth_promiscuous_enable(port);
        if (rc != 0) promiscuous = fmt::format("not promiscuous ({})", rte_strerror(-rc));
    } else {
        promiscuous = "not promiscuous (--no-promisc)";
    }
    rc = rte_eth_dev_start(port);
    if (rc != 0) {
        error = fmt::format("{}: cannot start the port: {}", name, rte_strerror(-rc));
        return false;
    }
    started_ports_.push_back(port);
    (void)rte_eth_stats_reset(port);  // the run's counters, from its start

    rte_eth_link link{};
    std::string link_text = "link state unknown";
    if (rte_eth_link_get_nowait(port, &link) == 0) {
        link_text = link.link_status == RTE_ETH_LINK_UP
                        ? fmt::format("link up, {} Mbit/s", link.link_speed)
                        : std::string("link down");
    }
    one_queue_per_key_ = one_queue_per_key_ && one_queue_per_key;
    descriptions_.push_back(fmt::format(
        "{} (DPDK port {}, {}): {} receive queue{}, {}, {} descriptors and {} mbufs each, {}, {}",
        name, port, info.driver_name != nullptr ? info.driver_name : "?", queues,
        queues == 1 ? "" : "s", spread, descriptors, pool_size, promiscuous, link_text));
    return true;
}

std::vector<DpdkQueue*> DpdkCapture::queues() const {
    std::vector<DpdkQueue*> out;
    for (const auto& q : queues_) out.push_back(q.get());
    return out;
}

DpdkCapture::~DpdkCapture() {
    for (std::uint16_t port : started_ports_) (void)rte_eth_dev_stop(port);
    for (std::uint16_t port : configured_ports_) (void)rte_eth_dev_close(port);
    queues_.clear();  // mbufs still held go back before their pools go
    for (rte_mempool* pool : pools_) rte_mempool_free(pool);
    if (eal_started_) (void)rte_eal_cleanup();
}

}  // namespace spanflow
