#include "capture/pcap_live_source.hpp"

#include <fmt/format.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "capture/file_source_common.hpp"
#include "capture/link_numbers.hpp"
#include "capture/packet_filter.hpp"

namespace spanflow {
namespace {
// The block timeout libpcap gives TPACKET_V3: how long a partly filled block may wait before the
// kernel hands it over. 10 ms keeps a quiet link's packets moving without a wakeup per packet.
constexpr int kBlockTimeoutMs = 10;
constexpr std::chrono::seconds kStatsInterval{1};
// ARPHRD_ values (linux/if_arp.h) of interfaces libpcap captures as Ethernet, for an interface
// that is down at start, whose handle (and so its link type) cannot be had yet.
constexpr int kArphrdEther = 1;
constexpr int kArphrdLoopback = 772;

void say(const std::string& text) {
    fmt::print(stderr, "spanflow: {}\n", text);
}

int arphrd_type(const std::string& name) {
    std::ifstream in("/sys/class/net/" + name + "/type");
    int type = -1;
    in >> type;
    return type;
}
}  // namespace

std::string interface_names() {
    std::string names;
    if (struct if_nameindex* list = ::if_nameindex()) {
        for (struct if_nameindex* i = list; i->if_index != 0; ++i) {
            if (!names.empty()) names += ", ";
            names += i->if_name;
        }
        ::if_freenameindex(list);
    }
    return names.empty() ? "none" : names;
}

PcapLiveSource::PcapLiveSource(std::string name, std::uint32_t ifindex,
                               const PcapLiveOptions& options)
    : name_(std::move(name)),
      ifindex_(ifindex),
      options_(options),
      arena_(std::make_unique<std::uint8_t[]>(kBatchSize *
                                              static_cast<std::size_t>(options.snaplen))) {}

PcapLiveSource::~PcapLiveSource() {
    close_handle();
}

std::unique_ptr<PcapLiveSource> PcapLiveSource::open(const std::string& name, std::uint32_t ifindex,
                                                     const PcapLiveOptions& options,
                                                     std::string& error) {
    // "any" is libpcap's pseudo-interface for all of them (cooked link type); it has no ifindex.
    const unsigned kernel_ifindex = name == "any" ? 0 : if_nametoindex(name.c_str());
    auto no_such_interface = [&] {
        error = fmt::format("interface '{}' does not exist; the interfaces here are: {}", name,
                            interface_names());
        return nullptr;
    };
    if (kernel_ifindex == 0 && name != "any") return no_such_interface();
    PcapLiveOptions checked = options;
    checked.snaplen = std::clamp(checked.snaplen, kMinSnaplen, kMaxSnaplen);
    std::unique_ptr<PcapLiveSource> source(
        new PcapLiveSource(name, ifindex != 0 ? ifindex : kernel_ifindex, checked));
    int rc = source->activate();
    if (rc == PCAP_ERROR_PERM_DENIED) {
        std::error_code ec;
        const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
        error = fmt::format(
            "capture on {} needs root or CAP_NET_RAW: run as root, or give the program the "
            "capability (setcap cap_net_raw+ep {})",
            name, ec ? std::string("spanflow") : self.string());
        return nullptr;
    }
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE) return no_such_interface();
    if (rc == PCAP_ERROR_IFACE_NOT_UP) {
        // Waited for; its link type is what libpcap would give an interface of its kind.
        const int type = arphrd_type(name);
        if (type != kArphrdEther && type != kArphrdLoopback) {
            error =
                fmt::format("{} is down, and its link type cannot be known until it is up", name);
            return nullptr;
        }
        source->dlt_ = DLT_EN10MB;
        source->link_ = LinkType::ethernet;
        say(fmt::format("{}: interface is down; capture starts when it comes up", name));
        source->said_waiting_ = true;
        source->next_retry_ = std::chrono::steady_clock::now() + source->retry_;
    } else if (rc < 0) {
        error = source->error_;
        return nullptr;
    }
    if (rc == PCAP_ERROR_IFACE_NOT_UP && !options.filter.empty()) {
        // Checked now, on a handle of the link type it will have, so a filter that does not
        // compile is refused at start; the live handle compiles it again once it opens.
        PacketFilter check;
        if (!check.compile(options.filter, source->dlt_, options.snaplen, error)) {
            return nullptr;
        }
    }
    return source;
}

int PcapLiveSource::activate() {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_create(name_.c_str(), errbuf);
    if (p == nullptr) {
        error_ = fmt::format("{}: {}", name_, errbuf);
        return PCAP_ERROR;
    }
    (void)pcap_set_snaplen(p, options_.snaplen);
    (void)pcap_set_promisc(p, options_.promiscuous ? 1 : 0);
    (void)pcap_set_timeout(p, kBlockTimeoutMs);
    (void)pcap_set_buffer_size(p, options_.buffer_bytes);
    (void)pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    int rc = pcap_activate(p);
    if (rc < 0) {
        // PCAP_ERROR_IFACE_NOT_UP, _NO_SUCH_DEVICE and _PERM_DENIED are the caller's to judge.
        error_ =
            fmt::format("{}: {}", name_, rc == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(rc));
        pcap_close(p);
        return rc;
    }
    const int dlt = pcap_datalink(p);
    LinkType link{};
    if (!link_type_from_dlt(dlt, link)) {
        const char* dlt_name = pcap_datalink_val_to_name(dlt);
        error_ = fmt::format("{}: unsupported link type {}", name_,
                             dlt_name != nullptr ? dlt_name : std::to_string(dlt));
        pcap_close(p);
        return PCAP_ERROR;
    }
    if (opened_once_ && dlt != dlt_) {
        error_ = fmt::format("{}: came back with another link type ({} instead of {})", name_, dlt,
                             dlt_);
        pcap_close(p);
        return PCAP_ERROR;
    }
    dlt_ = dlt;
    link_ = link;
    // The filter is compiled on the live handle, on every open: on Linux that handle reads VLAN
    // tags the way the kernel hands them over (the outer tag is out of the frame), which a dead
    // handle's code would not. A program is installed even without a filter: its "accept
    // snaplen bytes" makes the kernel copy only that much of each packet into the ring, so a
    // 64 MiB buffer holds 64 MiB of headers, not of whole frames.
    bpf_program program{};
    if (pcap_compile(p, &program, options_.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        error_ = fmt::format("capture filter '{}': {}", options_.filter, pcap_geterr(p));
        pcap_close(p);
        return PCAP_ERROR;
    }
    const int set = pcap_setfilter(p, &program);
    pcap_freecode(&program);
    if (set != 0) {
        error_ = fmt::format("{}: cannot set the capture filter: {}", name_, pcap_geterr(p));
        pcap_close(p);
        return PCAP_ERROR;
    }
    if (pcap_setnonblock(p, 1, errbuf) != 0 || (fd_ = pcap_get_selectable_fd(p)) < 0) {
        error_ = fmt::format("{}: cannot poll the capture: {}", name_, errbuf);
        pcap_close(p);
        return PCAP_ERROR;
    }
    nanoseconds_ = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
    bound_ifindex_ = if_nametoindex(name_.c_str());
    handle_ = p;
    last_drop_ = last_ifdrop_ = 0;
    next_stats_ = std::chrono::steady_clock::now() + kStatsInterval;
    opened_once_ = true;
    return rc;
}

void PcapLiveSource::close_handle(bool interface_gone) {
    if (handle_ == nullptr) return;
    update_kernel_stats(interface_gone);
    pcap_close(handle_);
    handle_ = nullptr;
    fd_ = -1;
}

void PcapLiveSource::update_kernel_stats(bool interface_gone) {
    if (handle_ == nullptr) return;
    pcap_stat ps{};
    if (pcap_stats(handle_, &ps) != 0) return;
    // Differences of 32-bit counters: right across one wrap between two reads.
    stats_.dropped_kernel += static_cast<std::uint32_t>(ps.ps_drop - last_drop_);
    last_drop_ = ps.ps_drop;
    // libpcap reads the interface's drops from sysfs, relative to its value at open: once the
    // interface is gone that reads 0 and the difference would wrap. A step of more than 2^31
    // is such a reset, not drops.
    const auto ifdrop = static_cast<std::uint32_t>(ps.ps_ifdrop - last_ifdrop_);
    if (!interface_gone && ifdrop < (1u << 31)) stats_.dropped_interface += ifdrop;
    last_ifdrop_ = ps.ps_ifdrop;
}

void PcapLiveSource::finish() {
    update_kernel_stats(bound_ifindex_ != 0 && if_nametoindex(name_.c_str()) != bound_ifindex_);
}

void PcapLiveSource::lost(const std::string& why) {
    close_handle(true);
    say(fmt::format("{}: capture lost ({}); opening it again when the interface is back", name_,
                    why));
    retry_ = kFirstRetry;
    next_retry_ = std::chrono::steady_clock::now() + retry_;
}

void PcapLiveSource::on_packet(unsigned char* user, const pcap_pkthdr* header,
                               const unsigned char* bytes) {
    auto* self = reinterpret_cast<PcapLiveSource*>(user);
    PacketBatch& batch = *self->filling_;
    const std::uint32_t caplen =
        std::min<std::uint32_t>(header->caplen, static_cast<std::uint32_t>(self->options_.snaplen));
    std::uint8_t* copy =
        self->arena_.get() + batch.count * static_cast<std::size_t>(self->options_.snaplen);
    std::memcpy(copy, bytes, caplen);
    PacketView& v = batch.packets[batch.count++];
    v.data = copy;
    v.captured_bytes = caplen;
    v.wire_bytes = header->len;
    v.ts = Timestamp::from_sec_frac(
        header->ts.tv_sec,
        self->nanoseconds_ ? header->ts.tv_usec : std::int64_t{header->ts.tv_usec} * 1000);
    v.ifindex = self->ifindex_;
    v.link = self->link_;
}

PollStatus PcapLiveSource::poll(PacketBatch& batch) {
    batch.count = 0;
    const auto now = std::chrono::steady_clock::now();
    if (handle_ == nullptr) {
        if (now < next_retry_) {
            std::this_thread::sleep_for(
                std::min<std::chrono::steady_clock::duration>(next_retry_ - now, kPollTimeout));
            ++stats_.empty_polls;
            return PollStatus::empty;
        }
        const bool was_open = opened_once_;
        const int rc = activate();
        if (rc < 0) {
            // Said once per reason, not once per try: a link type that changed, the rights
            // lost, no memory for the ring. An interface still away is the expected wait.
            if (rc != PCAP_ERROR_NO_SUCH_DEVICE && rc != PCAP_ERROR_IFACE_NOT_UP &&
                error_ != said_error_) {
                say(fmt::format("cannot capture again yet: {}", error_));
                said_error_ = error_;
            }
            retry_ = std::min(retry_ * 2, kMaxRetry);
            next_retry_ = now + retry_;
            ++stats_.empty_polls;
            return PollStatus::empty;
        }
        if (was_open) {
            ++stats_.reopens;
            say(fmt::format("{}: capturing again (reopen {})", name_, stats_.reopens));
        } else if (said_waiting_) {
            say(fmt::format("{}: interface is up; capturing", name_));
        }
    }
    if (now >= next_stats_) {
        next_stats_ = now + kStatsInterval;
        // A deleted interface is not always reported on the socket (taken down first, then
        // deleted: the error came at the down), and one re-created at once has the same name:
        // its kernel ifindex tells. The handle is bound to the old one and would see nothing.
        if (bound_ifindex_ != 0 && if_nametoindex(name_.c_str()) != bound_ifindex_) {
            lost("the interface was deleted");
            ++stats_.empty_polls;
            return PollStatus::empty;
        }
        update_kernel_stats(false);
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(kPollTimeout.count()));
    if (ready <= 0) {
        ++stats_.empty_polls;
        return PollStatus::empty;
    }
    filling_ = &batch;
    const int rc = pcap_dispatch(handle_, static_cast<int>(kBatchSize), on_packet,
                                 reinterpret_cast<unsigned char*>(this));
    filling_ = nullptr;
    if (rc < 0) {
        lost(rc == PCAP_ERROR ? pcap_geterr(handle_) : pcap_statustostr(rc));
    } else if (rc == 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
        // The interface went down: libpcap has read and cleared the socket's error, and the
        // handle captures again once it is up. Only an interface that is gone is reopened.
        if (bound_ifindex_ != 0 && if_nametoindex(name_.c_str()) != bound_ifindex_) {
            lost("the interface was deleted");
        } else {
            std::this_thread::sleep_for(kPollTimeout);  // no busy loop while it is down
        }
    }
    stats_.received += batch.count;
    if (batch.count == 0) {
        ++stats_.empty_polls;
        return PollStatus::empty;
    }
    return PollStatus::packets;
}

}  // namespace spanflow
