// The classic-pcap reader on any file: the mapped reader and libpcap must hand out the same
// packets, lengths and times, and stop with the same words at the same record (as the unit tests
// check on every capture of pcaps/), every view must lie inside the mapping, and decode must take
// whatever comes out.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "capture/libpcap_file_source.hpp"
#include "capture/mapped_pcap_source.hpp"
#include "fuzz_input.hpp"
#include "probe/decode/decoder.hpp"

using spanflow::PollStatus;
using spanflow::fuzz::require;

namespace {
struct Record {
    std::uint32_t captured, wire;
    std::int64_t ts;
    std::string bytes;
    bool operator==(const Record&) const = default;
};
struct Read {
    std::vector<Record> records;
    PollStatus status{};
    std::string error;
    std::uint64_t read{0}, bad_time{0};
};

template <class Source>
Read read_all(Source& source, std::span<const std::uint8_t> mapping) {
    Read r;
    spanflow::PacketBatch batch;
    spanflow::Decoder decoder;
    spanflow::PacketMeta metas[spanflow::kBatchSize];
    do {
        r.status = source.poll(batch);
        require(batch.count <= spanflow::kBatchSize, "a batch overflows");
        for (std::size_t i = 0; i < batch.count; ++i) {
            const spanflow::PacketView& v = batch.packets[i];
            if (!mapping.empty()) {
                require(v.data >= mapping.data() &&
                            v.data + v.captured_bytes <= mapping.data() + mapping.size(),
                        "a view outside the mapping");
            }
            r.records.push_back({v.captured_bytes, v.wire_bytes, v.ts.ns,
                                 std::string(reinterpret_cast<const char*>(v.data),
                                             v.captured_bytes)});
        }
        (void)decoder.decode_batch(batch, metas);
    } while (r.status == PollStatus::packets);
    r.error = source.error();
    r.read = source.packets_read();
    r.bad_time = source.packets_bad_time();
    return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    spanflow::fuzz::MemoryFile file(data, size);
    auto mapped = spanflow::MappedPcapSource::open(file.path(), 0);
    if (!mapped) return 0;  // not classic pcap, or a kind the mapped reader leaves to libpcap
    std::string error;
    auto libpcap = spanflow::LibpcapFileSource::open(file.path(), 0, error);
    require(libpcap != nullptr, "libpcap refuses a file the mapped reader takes");
    require(mapped->datalink() == libpcap->datalink(), "link types differ");
    const Read a = read_all(*mapped, mapped->mapping());
    const Read b = read_all(*libpcap, {});
    if (a.status != b.status || a.error != b.error) {
        std::fprintf(stderr, "mapped: %d '%s'\nlibpcap: %d '%s'\n", static_cast<int>(a.status),
                     a.error.c_str(), static_cast<int>(b.status), b.error.c_str());
        require(false, "the readers end differently");
    }
    require(a.read == b.read && a.bad_time == b.bad_time, "the readers count differently");
    if (a.records != b.records) {
        for (std::size_t i = 0; i < std::min(a.records.size(), b.records.size()); ++i) {
            if (a.records[i] == b.records[i]) continue;
            std::fprintf(stderr, "record %zu: mapped %u/%u bytes at %lld ns, libpcap %u/%u at %lld\n",
                         i + 1, a.records[i].captured, a.records[i].wire,
                         static_cast<long long>(a.records[i].ts), b.records[i].captured,
                         b.records[i].wire, static_cast<long long>(b.records[i].ts));
            break;
        }
        std::fprintf(stderr, "mapped %zu records, libpcap %zu\n", a.records.size(),
                     b.records.size());
        require(false, "the readers' packets differ");
    }
    return 0;
}
