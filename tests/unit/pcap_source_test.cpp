#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "capture/pcap_file_source.hpp"
#include "temp_file.hpp"

using spanflow::PcapFileSource;
using spanflow::PcapReader;
using spanflow::PollStatus;

namespace {
constexpr PcapReader kReaders[] = {PcapReader::mapped, PcapReader::libpcap};

const char* reader_name(PcapReader r) {
    return r == PcapReader::mapped ? "mapped" : "libpcap";
}

std::string capture(const char* name) {
    return std::string(SPANFLOW_SOURCE_DIR) + "/pcaps/" + name;
}

constexpr std::uint32_t kMagicMicro = 0xA1B2C3D4;
constexpr std::uint32_t kMagicNano = 0xA1B23C4D;
constexpr std::uint32_t kLinkRaw = 101;

// A classic pcap file written here, field by field, in either byte order.
struct PcapBytes {
    bool big_endian{false};
    std::string bytes;

    PcapBytes(bool big, std::uint32_t magic, std::uint32_t snaplen = 65535,
              std::uint32_t linktype = kLinkRaw, std::uint16_t major = 2, std::uint16_t minor = 4)
        : big_endian(big) {
        u32(magic);
        u16(major);
        u16(minor);
        u32(0);  // thiszone
        u32(0);  // sigfigs
        u32(snaplen);
        u32(linktype);
    }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void put(std::uint32_t v, int n) {
        for (int i = 0; i < n; ++i) {
            int shift = big_endian ? 8 * (n - 1 - i) : 8 * i;
            bytes.push_back(static_cast<char>(v >> shift));
        }
    }
    // A record whose body is `present` bytes of a pattern (by default all `caplen` of them).
    PcapBytes& record(std::uint32_t sec, std::uint32_t frac, std::uint32_t caplen,
                      std::uint32_t len, std::size_t present = SIZE_MAX) {
        u32(sec);
        u32(frac);
        u32(caplen);
        u32(len);
        if (present == SIZE_MAX) present = caplen;
        for (std::size_t i = 0; i < present; ++i) bytes.push_back(static_cast<char>(i * 7 + sec));
        return *this;
    }
};

struct Packet {
    std::uint32_t captured_bytes;
    std::uint32_t wire_bytes;
    std::int64_t ts_ns;
    std::uint32_t ifindex;
    std::string bytes;
};

// Everything a reader makes of one file.
struct Replay {
    bool opened{false};
    std::string open_error;
    PcapReader reader{};
    int dlt{-1};
    spanflow::LinkType link{};
    std::vector<std::size_t> batch_sizes;
    std::vector<Packet> packets;
    PollStatus status{};
    std::string error;
    std::uint64_t read{0};
    std::uint64_t bad_time{0};
};

Replay replay(const std::string& path, PcapReader want, std::uint32_t ifindex = 0) {
    Replay r;
    auto src = PcapFileSource::open(path, ifindex, r.open_error, want);
    if (!src) return r;
    r.opened = true;
    r.reader = src->reader();
    r.dlt = src->datalink();
    r.link = src->link_type();
    spanflow::PacketBatch batch;
    do {
        r.status = src->poll(batch);
        r.batch_sizes.push_back(batch.count);
        for (std::size_t i = 0; i < batch.count; ++i) {
            const auto& v = batch.packets[i];
            r.packets.push_back(
                {v.captured_bytes, v.wire_bytes, v.ts.ns, v.ifindex,
                 std::string(reinterpret_cast<const char*>(v.data), v.captured_bytes)});
        }
    } while (r.status == PollStatus::packets);
    r.error = src->error();
    r.read = src->packets_read();
    r.bad_time = src->packets_bad_time();
    return r;
}

// Both readers on one file, checked to agree in every batch, packet, count and word.
Replay same_from_both(const std::string& path) {
    Replay mapped = replay(path, PcapReader::mapped, 3);
    Replay libpcap = replay(path, PcapReader::libpcap, 3);
    CAPTURE(path);
    CHECK(mapped.opened == libpcap.opened);
    CHECK(mapped.open_error == libpcap.open_error);
    if (libpcap.opened) CHECK(libpcap.reader == PcapReader::libpcap);
    CHECK(mapped.dlt == libpcap.dlt);
    CHECK(mapped.link == libpcap.link);
    // A pcapng file whose interfaces differ in link type or snaplen: libpcap stops at the first
    // such interface, the pcapng reader reads on. The packets before agree.
    const bool libpcap_gives_up = libpcap.error.find("different from the") != std::string::npos &&
                                  mapped.reader == PcapReader::mapped;
    if (libpcap_gives_up) {
        CHECK(mapped.status == PollStatus::end);
        CHECK(mapped.read > libpcap.read);
        mapped.packets.resize(libpcap.packets.size());
    } else {
        CHECK(mapped.batch_sizes == libpcap.batch_sizes);
        CHECK(mapped.status == libpcap.status);
        CHECK(mapped.error == libpcap.error);
        CHECK(mapped.read == libpcap.read);
        CHECK(mapped.bad_time == libpcap.bad_time);
    }
    REQUIRE(mapped.packets.size() == libpcap.packets.size());
    for (std::size_t i = 0; i < mapped.packets.size(); ++i) {
        CAPTURE(i);
        const Packet& a = mapped.packets[i];
        const Packet& b = libpcap.packets[i];
        CHECK(a.captured_bytes == b.captured_bytes);
        CHECK(a.wire_bytes == b.wire_bytes);
        CHECK(a.ts_ns == b.ts_ns);
        CHECK(a.ifindex == b.ifindex);
        CHECK(a.bytes == b.bytes);
    }
    return mapped;
}

// Reads every batch; returns the packets seen and the final status.
std::pair<std::size_t, PollStatus> read_all(PcapFileSource& src) {
    spanflow::PacketBatch batch;
    std::size_t n = 0;
    PollStatus st;
    do {
        st = src.poll(batch);
        n += batch.count;
    } while (st == PollStatus::packets);
    return {n, st};
}

// A classic pcap file with one record of 20 bytes of IPv4, in the writing host's byte order.
std::string one_record(std::uint32_t magic, std::uint32_t frac, std::uint32_t linktype) {
    PcapBytes f(std::endian::native == std::endian::big, magic, 65535, linktype);
    f.u32(1'700'000'000);
    f.u32(frac);
    f.u32(20);
    f.u32(20);
    const unsigned char ip[20] = {0x45, 0, 0,  20, 0, 0, 0,  0, 64, 17,
                                  0,    0, 10, 0,  0, 1, 10, 0, 0,  2};
    f.bytes.append(reinterpret_cast<const char*>(ip), sizeof ip);
    return f.bytes;
}
}  // namespace

TEST_SUITE("capture") {
    TEST_CASE("a missing file is a one-line error naming the reason") {
        for (PcapReader want : kReaders) {
            CAPTURE(reader_name(want));
            std::string error;
            CHECK(PcapFileSource::open("/nonexistent/x.pcap", 0, error, want) == nullptr);
            CHECK(error.find("No such file") != std::string::npos);
            CHECK(error.find('\n') == std::string::npos);
        }
    }

    TEST_CASE("an unsupported link type is refused by name") {
        TempFile file(one_record(kMagicMicro, 0, 192));  // PPI
        for (PcapReader want : kReaders) {
            CAPTURE(reader_name(want));
            std::string error;
            CHECK(PcapFileSource::open(file.path(), 0, error, want) == nullptr);
            CHECK(error.find("unsupported link type PPI (DLT 192)") != std::string::npos);
        }
    }

    TEST_CASE("microsecond and nanosecond captures give nanosecond timestamps") {
        for (PcapReader want : kReaders) {
            for (auto [magic, frac, want_ns] : {std::tuple{kMagicMicro, 250'000u, 250'000'000},
                                                std::tuple{kMagicNano, 250'000u, 250'000}}) {
                CAPTURE(reader_name(want));
                CAPTURE(magic);
                std::string error;
                TempFile file(one_record(magic, frac, kLinkRaw));
                auto src = PcapFileSource::open(file.path(), 5, error, want);
                REQUIRE(src != nullptr);
                CHECK(src->reader() == want);
                spanflow::PacketBatch batch;
                CHECK(src->poll(batch) == PollStatus::end);
                REQUIRE(batch.count == 1);
                CHECK(batch.packets[0].ts.ns == 1'700'000'000LL * 1'000'000'000 + want_ns);
                CHECK(batch.packets[0].ifindex == 5);
                CHECK(src->link_type() == spanflow::LinkType::raw_ip);
            }
        }
    }

    TEST_CASE("pcap in both byte orders and pcapng are read in batches") {
        for (PcapReader want : kReaders) {
            for (const char* name : {"link-ethernet.pcap", "format-pcap-be.pcap",
                                     "format-pcapng.pcapng", "format-pcap-ns.pcap"}) {
                CAPTURE(reader_name(want));
                CAPTURE(name);
                std::string error;
                auto src = PcapFileSource::open(capture(name), 0, error, want);
                REQUIRE_MESSAGE(src != nullptr, error);
                CHECK(src->reader() == want);
                auto [n, st] = read_all(*src);
                CHECK(st == PollStatus::end);
                CHECK(n == src->packets_read());
                CHECK(n > 0);
            }
        }
    }

    TEST_CASE("a file cut short reports the damaged record's number after the good ones") {
        for (PcapReader want : kReaders) {
            CAPTURE(reader_name(want));
            std::string error;
            auto src = PcapFileSource::open(capture("error-truncated.pcap"), 0, error, want);
            REQUIRE(src != nullptr);
            auto [n, st] = read_all(*src);
            CHECK(st == PollStatus::error);
            CHECK(n == 4);
            CHECK(src->error().rfind("packet 5: ", 0) == 0);
        }
    }

    TEST_CASE("every capture in pcaps/ reads the same mapped and through libpcap") {
        std::size_t files = 0;
        for (const auto& entry :
             std::filesystem::directory_iterator(std::string(SPANFLOW_SOURCE_DIR) + "/pcaps")) {
            if (entry.path().extension() != ".pcap" && entry.path().extension() != ".pcapng")
                continue;
            ++files;
            Replay r = same_from_both(entry.path());
            // Only the link type decode does not read leaves a classic pcap to libpcap here.
            if (entry.path().filename() != "error-linktype.pcap") {
                CHECK(r.reader == PcapReader::mapped);
            }
        }
        CHECK(files >= 37);
    }

    TEST_CASE("the captures of the shared corpus read the same mapped and through libpcap") {
        // Real and fuzzed captures from other projects, where the machine has them.
        std::filesystem::path corpus = std::string(SPANFLOW_SOURCE_DIR) + "/../shared/pcaps";
        if (!std::filesystem::is_directory(corpus)) return;
        std::size_t mapped = 0;
        for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
            auto ext = entry.path().extension();
            if (ext != ".pcap" && ext != ".pcapng" && ext != ".cap") continue;
            if (same_from_both(entry.path()).reader == PcapReader::mapped) ++mapped;
        }
        MESSAGE("shared corpus: ", mapped, " captures read mapped");
        CHECK(mapped > 0);
    }

    TEST_CASE("a big-endian nanosecond capture gives its lengths and times in batches") {
        PcapBytes f(true, kMagicNano);
        for (std::uint32_t i = 0; i < 70; ++i) f.record(1'000 + i, 999'999'999 - i, 40 + i, 60);
        TempFile file(f.bytes);
        Replay r = same_from_both(file.path());
        CHECK(r.reader == PcapReader::mapped);
        CHECK(r.batch_sizes == std::vector<std::size_t>{32, 32, 6});
        CHECK(r.status == PollStatus::end);
        REQUIRE(r.packets.size() == 70);
        CHECK(r.packets[69].captured_bytes == 109);
        CHECK(r.packets[69].wire_bytes == 60);  // below the captured length: handed out as is
        CHECK(r.packets[69].ts_ns == 1'069 * 1'000'000'000LL + 999'999'930);
        CHECK(r.packets[69].ifindex == 3);
        CHECK(static_cast<unsigned char>(r.packets[69].bytes[1]) == ((7 + 1'069) & 0xff));
    }

    TEST_CASE("a little-endian microsecond capture gives nanosecond times") {
        PcapBytes f(false, kMagicMicro);
        f.record(1'700'000'000, 123'456, 20, 1500).record(1'700'000'001, 0, 0, 0);
        TempFile file(f.bytes);
        Replay r = same_from_both(file.path());
        CHECK(r.reader == PcapReader::mapped);
        REQUIRE(r.packets.size() == 2);
        CHECK(r.packets[0].ts_ns == 1'700'000'000LL * 1'000'000'000 + 123'456'000);
        CHECK(r.packets[0].wire_bytes == 1500);
        CHECK(r.packets[1].captured_bytes == 0);
    }

    TEST_CASE("the other two pairs of byte order and precision read the same") {
        for (auto [big, magic] : {std::pair{true, kMagicMicro}, std::pair{false, kMagicNano}}) {
            PcapBytes f(big, magic);
            for (std::uint32_t i = 0; i < 40; ++i) f.record(5'000 + i, i * 1'000, 64, 64);
            TempFile file(f.bytes);
            Replay r = same_from_both(file.path());
            CHECK(r.reader == PcapReader::mapped);
            CHECK(r.packets.size() == 40);
        }
    }

    TEST_CASE("damaged or out-of-range times are skipped or carried as libpcap hands them") {
        PcapBytes f(false, kMagicNano);
        f.record(100, 1'500'000'000, 4, 4);  // fraction past a second: carries
        f.record(0x8000'0000, 0, 4, 4);      // a negative 32-bit second: out of range
        f.record(0xFFFF'FFFF, 0, 4, 4);
        f.record(0x7FFF'FFFF, 0xFFFF'FFFF, 4, 4);  // a negative fraction
        f.record(0, 0, 4, 4);
        TempFile file(f.bytes);
        Replay r = same_from_both(file.path());
        CHECK(r.reader == PcapReader::mapped);
        CHECK(r.read == 5);
        CHECK(r.bad_time == 2);
        REQUIRE(r.packets.size() == 3);
        CHECK(r.packets[0].ts_ns == 101'500'000'000LL);
        CHECK(r.packets[1].ts_ns == 0x7FFF'FFFFLL * 1'000'000'000 - 1);
        CHECK(r.packets[2].ts_ns == 0);

        PcapBytes us(true, kMagicMicro);
        us.record(7, 2'000'000, 4, 4);  // two seconds' worth of microseconds
        TempFile us_file(us.bytes);
        Replay u = same_from_both(us_file.path());
        REQUIRE(u.packets.size() == 1);
        CHECK(u.packets[0].ts_ns == 9'000'000'000LL);

        // Byte-swapped, libpcap reads both fields unsigned (found by tests/fuzz/pcap_reader_fuzz):
        // a second from 2^31 on is 2038-2106, a fraction from 2^31 on a large positive one.
        const bool foreign = std::endian::native != std::endian::big;
        PcapBytes swapped(foreign, kMagicMicro);
        swapped.record(0x8000'0000, 0, 4, 4);
        swapped.record(10, 0xF000'0000, 4, 4);
        TempFile swapped_file(swapped.bytes);
        Replay w = same_from_both(swapped_file.path());
        CHECK(w.reader == PcapReader::mapped);
        REQUIRE(w.packets.size() == 2);
        CHECK(w.packets[0].ts_ns == 0x8000'0000LL * 1'000'000'000);
        CHECK(w.packets[1].ts_ns == 10'000'000'000LL + 0xF000'0000LL * 1000);
    }

    TEST_CASE("a record header cut short is an error after the records before it") {
        PcapBytes f(false, kMagicMicro);
        for (std::uint32_t i = 0; i < 33; ++i) f.record(10 + i, 0, 30, 30);
        f.u32(50);
        f.u32(0);
        f.u16(1);  // 10 of 16 header bytes
        TempFile file(f.bytes);
        Replay r = same_from_both(file.path());
        CHECK(r.reader == PcapReader::mapped);
        CHECK(r.batch_sizes == std::vector<std::size_t>{32, 1});
        CHECK(r.status == PollStatus::error);
        CHECK(r.error ==
              "packet 34: truncated dump file; tried to read 16 header bytes, only got 10");
    }

    TEST_CASE("a record body cut short is an error naming the bytes it lacks") {
        PcapBytes f(true, kMagicNano);
        f.record(10, 0, 30, 30).record(11, 0, 30, 30, 29);
        TempFile file(f.bytes);
        Replay r = same_from_both(file.path());
        CHECK(r.reader == PcapReader::mapped);
        CHECK(r.packets.size() == 1);
        CHECK(r.status == PollStatus::error);
        CHECK(r.error ==
              "packet 2: truncated dump file; tried to read 30 captured bytes, only got 29");
    }

    TEST_CASE("a record past the snaplen is cut to it, up to the maximum of 262144 bytes") {
        SUBCASE("within the maximum: cut to the snaplen, the next record still found") {
            PcapBytes f(false, kMagicMicro, 100);
            f.record(10, 0, 150, 150).record(11, 0, 100, 100).record(12, 0, 262144, 262144);
            TempFile file(f.bytes);
            Replay r = same_from_both(file.path());
            CHECK(r.status == PollStatus::end);
            REQUIRE(r.packets.size() == 3);
            CHECK(r.packets[0].captured_bytes == 100);
            CHECK(r.packets[0].wire_bytes == 150);
            CHECK(r.packets[1].ts_ns == 11'000'000'000LL);
            CHECK(r.packets[2].captured_bytes == 100);
        }
        SUBCASE("above the maximum and the snaplen") {
            PcapBytes f(false, kMagicMicro, 65535);
            f.record(10, 0, 64, 64).record(11, 0, 262145, 262145);
            TempFile file(f.bytes);
            Replay r = same_from_both(file.path());
            CHECK(r.packets.size() == 1);
            CHECK(r.error ==
                  "packet 2: invalid packet capture length 262145, bigger than snaplen of 65535");
        }
        SUBCASE("above the maximum, within a larger snaplen") {
            PcapBytes f(false, kMagicMicro, 300'000);
            f.record(10, 0, 262144, 262144).record(11, 0, 262145, 262145);
            TempFile file(f.bytes);
            Replay r = same_from_both(file.path());
            CHECK(r.packets.size() == 1);
            CHECK(r.error ==
                  "packet 2: invalid packet capture length 262145, bigger than maximum of 262144");
        }
        SUBCASE("a snaplen of 0 or above INT_MAX means the maximum") {
            for (std::uint32_t snaplen : {0u, 0x8000'0000u, 0xFFFF'FFFFu}) {
                CAPTURE(snaplen);
                PcapBytes f(true, kMagicMicro, snaplen);
                f.record(10, 0, 262144, 262144).record(11, 0, 262145, 262145);
                TempFile file(f.bytes);
                Replay r = same_from_both(file.path());
                CHECK(r.packets.size() == 1);
                CHECK(r.error.rfind("packet 2: invalid packet capture length 262145", 0) == 0);
            }
        }
        SUBCASE("cut short before the snaplen") {
            PcapBytes f(false, kMagicNano, 100);
            f.record(10, 0, 150, 150, 99);
            TempFile file(f.bytes);
            Replay r = same_from_both(file.path());
            CHECK(r.error ==
                  "packet 1: truncated dump file; tried to read 100 captured bytes, only got 99");
        }
        SUBCASE("cut short after the snaplen") {
            PcapBytes f(false, kMagicNano, 100);
            f.record(10, 0, 150, 150, 120);
            TempFile file(f.bytes);
            Replay r = same_from_both(file.path());
            CHECK(r.packets.empty());
            CHECK(r.error ==
                  "packet 1: truncated dump file; tried to read 150 captured bytes, only got 120");
        }
    }

    TEST_CASE("the FCS bits above the link type are ignored, as libpcap ignores them") {
        // LT_FCS_LENGTH_PRESENT with 4 bytes of FCS, on Ethernet.
        PcapBytes f(false, kMagicMicro, 65535, 0x4400'0001);
        f.record(10, 0, 64, 64);
        TempFile file(f.bytes);
        Replay r = same_from_both(file.path());
        CHECK(r.reader == PcapReader::mapped);
        CHECK(r.link == spanflow::LinkType::ethernet);
        CHECK(r.packets.size() == 1);
    }

    TEST_CASE("what the mapped reader does not take is read, or refused, by libpcap") {
        SUBCASE("a bad magic") {
            TempFile file(std::string(64, 'x'));
            Replay r = same_from_both(file.path());
            CHECK_FALSE(r.opened);
            CHECK(r.open_error == "cannot read capture: unknown file format");
        }
        SUBCASE("an empty file") {
            TempFile file("");
            Replay r = same_from_both(file.path());
            CHECK_FALSE(r.opened);
            CHECK(r.open_error.find("truncated dump file") != std::string::npos);
        }
        SUBCASE("a file header cut short") {
            TempFile file(PcapBytes(false, kMagicMicro).bytes.substr(0, 20));
            Replay r = same_from_both(file.path());
            CHECK_FALSE(r.opened);
            CHECK(r.open_error.find("truncated dump file") != std::string::npos);
        }
        SUBCASE("a directory") {
            Replay r = same_from_both(std::string(SPANFLOW_SOURCE_DIR) + "/pcaps");
            CHECK_FALSE(r.opened);
        }
        SUBCASE("versions libpcap refuses") {
            for (auto [major, minor] : {std::pair{1, 0}, std::pair{2, 5}, std::pair{3, 0}}) {
                CAPTURE(major);
                CAPTURE(minor);
                PcapBytes f(false, kMagicMicro, 65535, kLinkRaw, major, minor);
                f.record(10, 0, 20, 20);
                TempFile file(f.bytes);
                Replay r = same_from_both(file.path());
                CHECK_FALSE(r.opened);
                CHECK(r.open_error.find("pcap savefile") != std::string::npos);
            }
        }
        SUBCASE("older versions, whose length fields may be swapped") {
            for (auto [major, minor] : {std::pair{2, 2}, std::pair{2, 3}, std::pair{543, 0}}) {
                CAPTURE(major);
                CAPTURE(minor);
                PcapBytes f(true, kMagicMicro, 65535, kLinkRaw, major, minor);
                f.record(10, 0, 60, 20, 20);  // 2.2: wire 60, captured 20
                TempFile file(f.bytes);
                Replay r = same_from_both(file.path());
                CHECK(r.reader == PcapReader::libpcap);
                REQUIRE(r.packets.size() == 1);
                CHECK(r.packets[0].captured_bytes == 20);
            }
        }
        SUBCASE("byte-swapped NFLOG and Linux cooked captures, whose headers libpcap swaps") {
            bool foreign = std::endian::native != std::endian::big;
            for (std::uint32_t linktype : {239u, 113u, 276u}) {
                CAPTURE(linktype);
                PcapBytes f(foreign, kMagicMicro, 65535, linktype);
                f.record(10, 0, 40, 40);
                TempFile file(f.bytes);
                CHECK(same_from_both(file.path()).reader == PcapReader::libpcap);
            }
        }
        SUBCASE("a FIFO, which cannot be mapped") {
            std::string fifo = "/tmp/spanflow-test-" + std::to_string(getpid()) + ".fifo";
            REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
            PcapBytes f(false, kMagicMicro);
            for (std::uint32_t i = 0; i < 40; ++i) f.record(10 + i, 0, 64, 64);
            std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << f.bytes; });
            Replay r = replay(fifo, PcapReader::mapped);
            writer.join();
            std::remove(fifo.c_str());
            CHECK(r.reader == PcapReader::libpcap);
            CHECK(r.packets.size() == 40);
            CHECK(r.status == PollStatus::end);
        }
    }

    TEST_CASE(
        "a pipe that sends nothing: wake() ends the read waiting on it, with the records read") {
        // The stop of a replay from `tcpdump -w - | spanflow -r -` on a quiet link: the read that
        // waits for the next record returns, at a record boundary or inside a record.
        for (bool inside_record : {false, true}) {
            CAPTURE(inside_record);
            std::string fifo = "/tmp/spanflow-test-" + std::to_string(getpid()) + ".fifo";
            REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
            PcapBytes f(false, kMagicMicro);
            for (std::uint32_t i = 0; i < 3; ++i) f.record(10 + i, 0, 64, 64);
            if (inside_record) f.record(20, 0, 64, 64, 10);
            std::atomic<bool> done{false};
            std::thread writer([&] {
                // O_RDWR: Linux opens a FIFO so without waiting for a reader, so this thread
                // ends even if the reader below never opens it.
                const int fd = ::open(fifo.c_str(), O_RDWR);
                if (fd < 0) return;
                (void)!::write(fd, f.bytes.data(), f.bytes.size());
                // The pipe stays open and quiet; closed after 10 s at most, so a wake() that does
                // not work fails the time check below rather than hanging the suite.
                for (int i = 0; i < 1000 && !done.load(); ++i)
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                ::close(fd);
            });
            std::string error;
            auto source = PcapFileSource::open(fifo, 0, error);
            if (!source) {  // the threads are joined before the test case ends
                done.store(true);
                writer.join();
                std::remove(fifo.c_str());
                FAIL(error);
            }
            CHECK(source->reader() == PcapReader::libpcap);
            const auto started = std::chrono::steady_clock::now();
            std::thread waker([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
                source->wake();
            });
            spanflow::PacketBatch batch;
            const PollStatus status = source->poll(batch);
            const auto waited = std::chrono::steady_clock::now() - started;
            waker.join();
            done.store(true);
            writer.join();
            std::remove(fifo.c_str());
            CHECK(status == PollStatus::end);
            CHECK(batch.count == 3);
            CHECK(source->error().empty());
            CHECK(waited < std::chrono::seconds(5));
            CHECK(source->poll(batch) == PollStatus::end);  // and every later poll
        }
    }
}
