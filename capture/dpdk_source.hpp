// Live capture with DPDK (22.11): the ports DPDK's EAL takes over (a NIC bound to vfio-pci, named
// by -a PCI_ADDRESS, or a virtual device, --vdev), each read through its receive queues, one
// capture thread per queue, for mirror ports faster than the kernel's stack can hand over.
//
// How a port is opened, and why:
//   - the EAL is started once, from --dpdk-args (split at blanks), and captures every port it
//     finds. Its log goes to stderr at warning level unless --dpdk-args sets --log-level; when it
//     refuses the arguments, its last error is the one line said. The EAL pins the thread that
//     starts it to the first core of -l: that affinity is undone, so the capture and worker
//     threads spread over the cores as the kernel sees fit.
//   - --queues receive queues per port (default: as many as the port has, at most one per core),
//     each with its own mbuf pool on the port's NUMA socket, sized from the descriptor count, not
//     the burst (a pool of 2^k-1 mbufs, at least twice the ring, so the NIC never waits for a
//     buffer while a burst is decoded), with room for the MTU plus two VLAN tags in one segment.
//   - no offload that changes packets (no VLAN strip, no LRO), promiscuous on (unless
//     --no-promisc), RSS on IP addresses only (RTE_ETH_RSS_IP masked by what the port can hash),
//     so that every packet of a flow key, fragments included, reaches one queue and the queue's
//     thread can own its flows. --rss ports also hashes ports: faster spread, but a fragmented
//     datagram's first fragment may then be a second flow. A port that cannot hash (virtual
//     devices) and has several queues sends its queues through the key-routing topology instead.
//   - bursts of 32 taken with rte_eth_rx_burst, decoded in place, freed in bulk after decode.
//
// Time. Plain mbufs carry no timestamp: each burst is stamped with one reading of the real-time
// clock when it is taken off the ring.
//
// Idle queues. A DPDK loop polls; after kSpinPolls empty polls in a row a queue naps kIdleNap
// between polls, so an idle probe does not hold its cores at 100%. A busy queue never naps.
//
// Counters. ipackets is counted per queue as the packets are taken; the port's imissed (the NIC's
// ring was full), rx_nombuf (no mbuf) and ierrors are port-wide, read once a second by queue 0's
// thread only and reported there; per-queue drops (q_errors) where the driver keeps them.
//
// Teardown. Ports stopped and closed, pools freed, EAL cleaned up, on every exit path but a
// second stop signal (then the process exit releases the devices).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/packet_filter.hpp"
#include "capture/source.hpp"
#include "probe/core/link_type.hpp"
#include "probe/core/packet_view.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace spanflow {

struct DpdkOptions {
    std::string eal_args;   // --dpdk-args: EAL arguments, split at blanks
    unsigned queues{0};     // receive queues per port; 0: all (at most one per core)
    bool rss_ports{false};  // hash ports too: each queue owns its flows anyway
    bool promiscuous{true};
    std::uint16_t descriptors{1024};  // RX descriptors per queue (the driver may adjust them)
    std::uint32_t first_ifindex{0};   // port P's flows carry first_ifindex + P; 0: P + 1
    std::string filter;               // tcpdump syntax, run in user space on every packet
};

class DpdkCapture;

// One receive queue of a port: a CaptureSource (capture/source.hpp).
class DpdkQueue {
  public:
    static constexpr unsigned kSpinPolls = 1024;
    static constexpr std::chrono::microseconds kIdleNap{50};
    ~DpdkQueue();
    DpdkQueue(const DpdkQueue&) = delete;
    DpdkQueue& operator=(const DpdkQueue&) = delete;

    [[nodiscard]] PollStatus poll(PacketBatch& batch);
    void release(const PacketBatch& batch);
    [[nodiscard]] LinkType link_type() const { return LinkType::ethernet; }
    [[nodiscard]] CaptureStats stats() const { return stats_; }
    [[nodiscard]] const std::string& error() const { return error_; }
    void finish();  // the last counters; gives the thread's DPDK lcore id back
    static constexpr bool kDrainOnStop = true;

    [[nodiscard]] const std::string& name() const { return name_; }  // "net_pcap0/q1"
    [[nodiscard]] std::uint32_t ifindex() const { return flow_ifindex_; }

  private:
    friend class DpdkCapture;
    DpdkQueue(std::uint16_t port, std::uint16_t queue, std::string name, std::uint32_t ifindex,
              PacketFilter filter);
    void read_port_stats();

    std::uint16_t port_;
    std::uint16_t queue_;
    std::string name_;
    std::uint32_t flow_ifindex_;
    rte_mbuf* held_[kBatchSize]{};
    std::uint16_t held_count_{0};
    PacketFilter filter_;
    CaptureStats stats_;
    std::string error_;
    unsigned idle_polls_{0};
    bool thread_checked_{false};
    bool thread_registered_{false};
    std::chrono::steady_clock::time_point next_stats_{};
};

// The EAL and every port it found, started; the queues to read.
class DpdkCapture {
  public:
    // Starts the EAL with options.eal_args and every port it found. On failure everything
    // started so far is undone and null returned, with `error` one line that says why.
    [[nodiscard]] static std::unique_ptr<DpdkCapture> open(const DpdkOptions& options,
                                                           std::string& error);
    ~DpdkCapture();  // ports stopped and closed, pools freed, the EAL cleaned up
    DpdkCapture(const DpdkCapture&) = delete;
    DpdkCapture& operator=(const DpdkCapture&) = delete;

    [[nodiscard]] std::vector<DpdkQueue*> queues() const;
    // One line per port: "net_pcap0 (port 0): 2 receive queues, 1024 descriptors, ..."
    [[nodiscard]] const std::vector<std::string>& descriptions() const { return descriptions_; }
    // Whether every packet of a flow key reaches one queue on every port (one queue, or RSS).
    [[nodiscard]] bool flows_stay_on_one_queue() const { return one_queue_per_key_; }

  private:
    DpdkCapture() = default;
    bool open_port(std::uint16_t port, const DpdkOptions& options, std::string& error);

    bool eal_started_{false};
    bool one_queue_per_key_{true};
    std::vector<std::uint16_t> started_ports_;
    std::vector<std::uint16_t> configured_ports_;
    std::vector<rte_mempool*> pools_;
    std::vector<std::unique_ptr<DpdkQueue>> queues_;
    std::vector<std::string> descriptions_;
};

}  // namespace spanflow
