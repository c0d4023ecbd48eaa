#include "capture/pcap_file_source.hpp"

namespace spanflow {

std::unique_ptr<PcapFileSource> PcapFileSource::open(const std::string& path, std::uint32_t ifindex,
                                                     std::string& error, PcapReader want) {
    if (want == PcapReader::mapped) {
        if (auto mapped = MappedPcapSource::open(path, ifindex))
            return std::unique_ptr<PcapFileSource>(new PcapFileSource(std::move(mapped)));
        if (auto pcapng = MappedPcapngSource::open(path, ifindex, error))
            return std::unique_ptr<PcapFileSource>(new PcapFileSource(std::move(pcapng)));
        if (!error.empty()) return nullptr;  // pcapng, and damaged: its own words
    }
    auto libpcap = LibpcapFileSource::open(path, ifindex, error);
    if (!libpcap) return nullptr;
    return std::unique_ptr<PcapFileSource>(new PcapFileSource(std::move(libpcap)));
}

}  // namespace spanflow
