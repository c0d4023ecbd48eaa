#include "capture/packet_filter.hpp"

#include <pcap/pcap.h>

#include "capture/link_numbers.hpp"

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
    expression_ = expression;
    snaplen_ = snaplen;
    for (auto& program : programs_) program.reset();
    return cover(dlt, error);
}

bool PacketFilter::cover(int dlt, std::string& error) {
    if (expression_.empty()) return true;
    LinkType link{};
    if (!link_type_from_dlt(dlt, link)) {
        error = "capture filter '" + expression_ + "': " + unsupported_link_text(dlt);
        return false;
    }
    auto& slot = programs_[static_cast<std::size_t>(link)];
    if (slot) return true;
    // A dead handle compiles for a link type without opening anything: the same code the live
    // handle would get, so a filter that does not compile is refused before any capture opens.
    pcap_t* dead = pcap_open_dead(dlt, snaplen_);
    if (dead == nullptr) {
        error = "cannot compile the capture filter: out of memory";
        return false;
    }
    auto program = std::make_unique<bpf_program>();
    // Optimized; no netmask is known (only "ip broadcast" needs one, and says so if used).
    if (pcap_compile(dead, program.get(), expression_.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        error = std::string("capture filter '") + expression_ + "': " + pcap_geterr(dead);
        pcap_close(dead);
        return false;
    }
    pcap_close(dead);
    slot.reset(program.release());
    return true;
}

std::size_t PacketFilter::apply(PacketBatch& batch) const {
    if (expression_.empty()) return 0;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < batch.count; ++i) {
        const PacketView& v = batch.packets[i];
        // Every source covers a link type before it hands out its packets; a program missing all
        // the same keeps nothing rather than everything.
        const bpf_program* program = programs_[static_cast<std::size_t>(v.link)].get();
        pcap_pkthdr header{};
        header.caplen = v.captured_bytes;
        header.len = v.wire_bytes;
        if (program != nullptr && pcap_offline_filter(program, &header, v.data) != 0)
            batch.packets[kept++] = v;
    }
    const std::size_t removed = batch.count - kept;
    batch.count = kept;
    return removed;
}

}  // namespace spanflow
