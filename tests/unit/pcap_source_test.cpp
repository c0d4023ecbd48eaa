#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "capture/pcap_file_source.hpp"

using spanflow::PcapFileSource;
using spanflow::ReadStatus;

namespace {
std::string capture(const char* name) {
    return std::string(SPANFLOW_SOURCE_DIR) + "/pcaps/" + name;
}

// Reads every batch; returns the packets seen and the final status.
std::pair<std::size_t, ReadStatus> read_all(PcapFileSource& src) {
    spanflow::PacketBatch batch;
    std::size_t n = 0;
    ReadStatus st;
    do {
        st = src.next_batch(batch);
        n += batch.count;
    } while (st == ReadStatus::ok);
    return {n, st};
}

// A classic pcap file written here, byte by byte: global header then one record.
std::string write_pcap(std::uint32_t magic, std::uint32_t frac, std::uint32_t linktype) {
    std::string path = "/tmp/spanflow-test-" + std::to_string(getpid()) + "-" +
                       std::to_string(magic) + "-" + std::to_string(linktype) + ".pcap";
    std::ofstream f(path, std::ios::binary);
    auto u32 = [&](std::uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](std::uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
    u32(magic);
    u16(2);
    u16(4);
    u32(0);
    u32(0);
    u32(65535);
    u32(linktype);
    u32(1'700'000'000);  // record: seconds, fraction, caplen, len, 20 bytes of IPv4
    u32(frac);
    u32(20);
    u32(20);
    const unsigned char ip[20] = {0x45, 0, 0,  20, 0, 0, 0,  0, 64, 17,
                                  0,    0, 10, 0,  0, 1, 10, 0, 0,  2};
    f.write(reinterpret_cast<const char*>(ip), sizeof ip);
    return path;
}
}  // namespace

TEST_SUITE("capture") {
    TEST_CASE("a missing file is a one-line error naming the reason") {
        std::string error;
        CHECK(PcapFileSource::open("/nonexistent/x.pcap", 0, error) == nullptr);
        CHECK(error.find("No such file") != std::string::npos);
        CHECK(error.find('\n') == std::string::npos);
    }

    TEST_CASE("an unsupported link type is refused by name") {
        std::string error;
        std::string path = write_pcap(0xA1B2C3D4, 0, 192);  // PPI
        CHECK(PcapFileSource::open(path, 0, error) == nullptr);
        CHECK(error.find("unsupported link type PPI (DLT 192)") != std::string::npos);
        std::remove(path.c_str());
    }

    TEST_CASE("microsecond and nanosecond captures give nanosecond timestamps") {
        for (auto [magic, frac, want_ns] : {std::tuple{0xA1B2C3D4u, 250'000u, 250'000'000},
                                            std::tuple{0xA1B23C4Du, 250'000u, 250'000}}) {
            std::string error;
            std::string path = write_pcap(magic, frac, 101);  // raw IP
            auto src = PcapFileSource::open(path, 5, error);
            REQUIRE(src != nullptr);
            spanflow::PacketBatch batch;
            CHECK(src->next_batch(batch) == ReadStatus::end);
            REQUIRE(batch.count == 1);
            CHECK(batch.packets[0].ts.ns == 1'700'000'000LL * 1'000'000'000 + want_ns);
            CHECK(batch.packets[0].ifindex == 5);
            CHECK(src->link_type() == spanflow::LinkType::raw_ip);
            std::remove(path.c_str());
        }
    }

    TEST_CASE("pcap in both byte orders and pcapng are read in batches") {
        for (const char* name : {"link-ethernet.pcap", "format-pcap-be.pcap",
                                 "format-pcapng.pcapng", "format-pcap-ns.pcap"}) {
            std::string error;
            auto src = PcapFileSource::open(capture(name), 0, error);
            REQUIRE_MESSAGE(src != nullptr, error);
            auto [n, st] = read_all(*src);
            CHECK(st == ReadStatus::end);
            CHECK(n == src->packets_read());
            CHECK(n > 0);
        }
    }

    TEST_CASE("a file cut short reports the damaged record's number after the good ones") {
        std::string error;
        auto src = PcapFileSource::open(capture("error-truncated.pcap"), 0, error);
        REQUIRE(src != nullptr);
        auto [n, st] = read_all(*src);
        CHECK(st == ReadStatus::error);
        CHECK(n == 4);
        CHECK(src->error().rfind("packet 5: ", 0) == 0);
    }
}
