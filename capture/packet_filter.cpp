#include "capture/packet_filter.hpp"

#include <pcap/pcap.h>

namespace spanflow {

PacketFilter::PacketFilter() = default;
PacketFilter::~PacketFilter() = default;
PacketFilter::PacketFilter(PacketFilter&&) noexcept = default;
PacketFilter& PacketFilter::operator=(PacketFilter&&) noexcept = default;

void PacketFilter::Free::operator()(bpf_program* p) const {
    pcap_freecode(p);
    delete p;
}

bool PacketFilter::compile(const std::string& expression, int dlt, int snaplen,
                           std::string& error) {
    program_.reset();
    if (expression.empty()) return true;
    // A dead handle compiles for a link type without opening anything: the same code the live
    // handle would get, so a filter that does not compile is refused before any capture opens.
    pcap_t* dead = pcap_open_dead(dlt, snaplen);
    if (dead == nullptr) {
        error = "cannot compile the capture filter: out of memory";
        return false;
    }
    auto program = std::make_unique<bpf_program>();
    // Optimized; no netmask is known (only "ip broadcast" needs one, and says so if used).
    if (pcap_compile(dead, program.get(), expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        error = std::string("capture filter '") + expression + "': " + pcap_geterr(dead);
        pcap_close(dead);
        return false;
    }
    pcap_close(dead);
    program_.reset(program.release());
    return true;
}

std::size_t PacketFilter::apply(PacketBatch& batch) const {
    if (!program_) return 0;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < batch.count; ++i) {
        const PacketView& v = batch.packets[i];
        pcap_pkthdr header{};
        header.caplen = v.captured_bytes;
        header.len = v.wire_bytes;
        if (pcap_offline_filter(program_.get(), &header, v.data) != 0) batch.packets[kept++] = v;
    }
    const std::size_t removed = batch.count - kept;
    batch.count = kept;
    return removed;
}

}  // namespace spanflow
