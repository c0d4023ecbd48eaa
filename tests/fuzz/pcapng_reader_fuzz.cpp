// The pcapng reader on any file: no crash, every view inside the mapping and within its block,
// counts that add up, link types decode reads, and decode taking whatever comes out. (libpcap is
// no judge here: it refuses what this reader is for, interfaces of different link types.)
#include "capture/mapped_pcapng_source.hpp"
#include "fuzz_input.hpp"
#include "probe/decode/decoder.hpp"

using spanflow::PollStatus;
using spanflow::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    spanflow::fuzz::MemoryFile file(data, size);
    std::string error;
    auto source = spanflow::MappedPcapngSource::open(file.path(), 0, error);
    if (!source) {
        require(error.find('\n') == std::string::npos, "an open error of more than one line");
        return 0;
    }
    if (size % 3 == 0) {  // now and then with a filter, compiled per link type as interfaces come
        spanflow::PacketFilter filter;
        std::string why;
        if (filter.compile("udp or vlan", source->datalink(), 262144, why))
            source->set_filter(std::move(filter));
    }
    const std::span<const std::uint8_t> mapping = source->mapping();
    spanflow::PacketBatch batch;
    spanflow::Decoder decoder;
    spanflow::PacketMeta metas[spanflow::kBatchSize];
    std::uint64_t handed_out = 0;
    PollStatus status;
    do {
        status = source->poll(batch);
        require(batch.count <= spanflow::kBatchSize, "a batch overflows");
        for (std::size_t i = 0; i < batch.count; ++i) {
            const spanflow::PacketView& v = batch.packets[i];
            require(v.data >= mapping.data() &&
                        v.data + v.captured_bytes <= mapping.data() + mapping.size(),
                    "a view outside the mapping");
            require(v.captured_bytes <= spanflow::kMaxRecordBytes, "a view above the maximum");
            require(static_cast<std::size_t>(v.link) < spanflow::kLinkTypeCount, "a bad link");
            require(v.ts.ns >= 0, "a time before 1970 handed out");
        }
        handed_out += batch.count;
        (void)decoder.decode_batch(batch, metas);
    } while (status == PollStatus::packets);
    const spanflow::CaptureStats stats = source->stats();
    require(handed_out + stats.skipped_bad_time + stats.skipped_link_type + stats.filtered_out ==
                stats.received,
            "packets read do not add up");
    require(status == PollStatus::end || !source->error().empty(), "an error without words");
    require(source->error().find('\n') == std::string::npos, "an error of more than one line");
    return 0;
}
