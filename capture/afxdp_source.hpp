// Live capture with AF_XDP (libxdp's xsk_* sockets, libbpf for the program): one socket per
// receive queue of an interface, each read by its own capture thread, for mirror ports faster
// than libpcap's one ring per interface can take.
//
// How a port is opened, and why:
//   - spanflow's own XDP program (capture/xdp/spanflow_xdp.bpf.c, embedded in the binary)
//     redirects the queues that have a socket and counts, per queue, the packets of queues that
//     have none (RSS may spread a mirror's traffic to queues nobody reads: they are reported, not
//     lost silently). A program already on the interface that is not this run's is left alone
//     and the start refused: it may be another spanflow, or another tool's.
//   - native (driver) mode, falling back to generic (SKB) mode in --xdp-mode auto; zero-copy,
//     falling back to copy mode in --zero-copy auto; the modes in use are said at start.
//   - RX-only sockets with need_wakeup; a fill ring twice the RX ring, and as many frames as the
//     fill ring holds, so the kernel never waits for frames while a batch is decoded.
//   - promiscuous mode by AF_PACKET membership (PACKET_MR_PROMISC), which the kernel counts and
//     undoes when the socket closes, so neither an exit nor a crash leaves the port promiscuous.
//   - the MTU must fit a 4096-byte frame less XDP's headroom, or jumbo frames would be dropped
//     before the probe sees them: such a start is refused. VLAN offload (tags taken off before
//     XDP sees them) and GRO/LRO (packets merged) are warned about with the ethtool command.
//
// Packet memory. A batch's views point into the UMEM frames the RX ring handed over; release()
// gives those frames back to the fill ring once the batch is decoded.
//
// Time. AF_XDP descriptors carry no timestamp: each batch is stamped with one reading of the
// real-time clock when it is taken off the ring (a batch is at most 32 packets, microseconds).
//
// Teardown. The program is detached before the sockets close (a socket closed under an attached
// program faults on some kernels), on every exit path: the end of the run, a stop signal, a
// second stop signal (detach_all_afxdp_programs), a start that fails half way.
//
// An interface that goes away. Down and up is nothing: the sockets survive it. A deleted
// interface (its kernel ifindex is checked once a second) is said once; when one of that name is
// back, the first queue to notice attaches the program to it (same mode, same checks: MTU, a
// foreign program), renews the promiscuous membership, and every queue opens its socket again,
// each reopen said and counted, as libpcap's backend does. The flows keep the ifIndex of the
// start. Counters carry on across sockets.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "capture/packet_filter.hpp"
#include "capture/source.hpp"
#include "probe/core/link_type.hpp"
#include "probe/core/packet_view.hpp"

struct xsk_umem;
struct xsk_socket;
struct bpf_object;

namespace spanflow {

enum class XdpMode : std::uint8_t { automatic, native, generic };
enum class ZeroCopy : std::uint8_t { automatic, required, off };

struct AfXdpOptions {
    unsigned queues{0};  // sockets on queues 0..queues-1; 0: every receive queue
    XdpMode mode{XdpMode::automatic};
    ZeroCopy zero_copy{ZeroCopy::automatic};
    bool promiscuous{true};
    bool rss_ports{false};          // accept a NIC hash on ports: workers per queue anyway
    std::uint32_t ring_size{8192};  // RX descriptors per queue (a power of two, --descriptors)
    std::string filter;             // tcpdump syntax, run in user space on every packet
};

// Frames of 4096 bytes (one page); XDP keeps 256 bytes of headroom in each.
inline constexpr std::uint32_t kXdpFrameBytes = 4096;
inline constexpr std::uint32_t kXdpHeadroom = 256;

class AfXdpPort;

// One receive queue's socket: a CaptureSource (capture/source.hpp).
class AfXdpQueue {
  public:
    static constexpr std::chrono::milliseconds kPollTimeout{20};
    // After a poll that found packets, an empty ring is napped on this long before the socket is
    // waited on: traffic that drains the ring faster than it fills would otherwise cost a wake-up
    // (poll, context switch) per packet or two; a nap gathers ~100 packets a wake at 1 Mpps.
    // The RX ring must hold a nap's packets: 4096 descriptors are 270 us at 14.88 Mpps.
    static constexpr std::chrono::microseconds kBusyNap{100};
    ~AfXdpQueue();
    AfXdpQueue(const AfXdpQueue&) = delete;
    AfXdpQueue& operator=(const AfXdpQueue&) = delete;

    [[nodiscard]] PollStatus poll(PacketBatch& batch);
    void release(const PacketBatch& batch);
    [[nodiscard]] LinkType link_type() const { return LinkType::ethernet; }
    [[nodiscard]] CaptureStats stats() const { return stats_; }
    [[nodiscard]] const std::string& error() const { return error_; }
    void finish() { read_kernel_stats(); }
    static constexpr bool kDrainOnStop = true;

    [[nodiscard]] const std::string& name() const { return name_; }  // "eth1/q0"
    [[nodiscard]] std::uint32_t ifindex() const { return flow_ifindex_; }
    [[nodiscard]] unsigned queue() const { return queue_; }

  private:
    friend class AfXdpPort;
    AfXdpQueue(AfXdpPort& port, unsigned queue);
    // UMEM, fill ring stocked, socket bound (zero-copy or copy), entered in the XSKMAP.
    bool open(std::uint16_t bind_flags, std::string& error);
    void read_kernel_stats();
    void periodic();
    void close_socket();  // after the interface went away; the counters are kept

    AfXdpPort& port_;
    unsigned queue_;
    std::string name_;
    std::uint32_t flow_ifindex_;
    void* area_{nullptr};
    std::size_t area_bytes_{0};
    xsk_umem* umem_{nullptr};
    xsk_socket* xsk_{nullptr};
    int fd_{-1};
    // libxdp's ring handles (struct xsk_ring_cons / xsk_ring_prod), kept opaque here.
    struct Rings;
    std::unique_ptr<Rings> rings_;
    std::uint32_t held_{0};  // descriptors of the batch out, given back in release()
    std::uint64_t held_addr_[kBatchSize]{};
    PacketFilter filter_;
    CaptureStats stats_;
    std::string error_;
    bool lost_{false};
    bool busy_{false};             // the last poll found packets: nap before waiting
    std::uint32_t generation_{0};  // the port's attachment this socket is bound to
    unsigned bound_ifindex_{0};    // the kernel ifindex of the interface it is bound to
    CaptureStats closed_;          // the kernel's counters of the sockets closed so far
    std::string said_;             // the last reopen failure said, so it is said once
    std::chrono::steady_clock::time_point next_periodic_{};
};

// One interface: the XDP program, promiscuous membership, and a socket per queue.
class AfXdpPort {
  public:
    // Opens `name` (ifIndex `ifindex` in its flows; 0: its kernel ifindex): checks, attaches the
    // program, opens one socket per queue. On failure nothing stays attached and null is
    // returned, with `error` one line that says why.
    [[nodiscard]] static std::unique_ptr<AfXdpPort> open(const std::string& name,
                                                         std::uint32_t ifindex,
                                                         const AfXdpOptions& options,
                                                         std::string& error);
    ~AfXdpPort();  // detaches the program, then closes the sockets
    AfXdpPort(const AfXdpPort&) = delete;
    AfXdpPort& operator=(const AfXdpPort&) = delete;

    [[nodiscard]] std::vector<AfXdpQueue*> queues() const;
    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] std::uint32_t ifindex() const { return flow_ifindex_; }
    // "native mode, copy (zero-copy refused by the driver), 2 queues"
    [[nodiscard]] const std::string& description() const { return description_; }
    // Whether every packet of a flow key reaches one queue, so each queue may own its flows:
    // one queue, or an RSS hash on addresses only (or on ports, when --rss ports accepts it).
    [[nodiscard]] bool flows_stay_on_one_queue() const { return one_queue_per_key_; }
    // Packets on queues without a socket since start, summed over CPUs and queues.
    [[nodiscard]] std::uint64_t unserved_packets() const;
    // Takes the program off the interface if it is still this run's, for good (no reattach
    // after it). Idempotent, thread-safe.
    void detach();
    // After the interface was deleted: when one of its name is back, attaches the program to it
    // (once, whichever queue asks first). Returns the attachment's generation, which a queue
    // whose socket is older reopens for; 0 while the interface is away or cannot be taken
    // (said once). Thread-safe.
    std::uint32_t reattach();

  private:
    friend class AfXdpQueue;
    AfXdpPort(std::string name, const AfXdpOptions& options);

    std::string name_;
    AfXdpOptions options_;
    std::atomic<unsigned> kernel_ifindex_{0};  // the interface attached to; a reattach moves it
    std::uint32_t flow_ifindex_{0};
    bpf_object* object_{nullptr};
    int program_fd_{-1};
    std::uint32_t program_id_{0};
    int xsks_map_fd_{-1};
    int unserved_fd_{-1};
    std::uint32_t attach_flags_{0};
    std::uint16_t bind_flags_{0};  // the sockets' mode (zero-copy or copy), chosen at start
    int promisc_fd_{-1};
    bool one_queue_per_key_{true};
    std::string description_;
    std::mutex detach_mutex_;
    bool attached_{false};
    bool detached_for_good_{false};
    std::uint32_t generation_{1};
    std::string said_;  // the last reattach failure said
    std::vector<std::unique_ptr<AfXdpQueue>> queues_;
};

// Detaches every AF_XDP program this process attached: for an exit that skips the destructors
// (a second stop signal).
void detach_all_afxdp_programs();

// The receive queues the kernel has set up on `name` (/sys/class/net/NAME/queues/rx-*); 0 if it
// cannot tell.
[[nodiscard]] unsigned receive_queue_count(const std::string& name);

}  // namespace spanflow
