#include "capture/libpcap_file_source.hpp"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "probe/core/error_text.hpp"

namespace spanflow {

// The file (or standard input) and the eventfd wake() writes to.
struct LibpcapFileSource::Input {
    int fd{-1};
    bool own_fd{false};  // not standard input
    int wake_fd{-1};
    std::atomic<bool> woken{false};
    // stdio's buffer: a pipe is read in large pieces, two system calls (poll, read) each.
    static constexpr std::size_t kBufferBytes = std::size_t{1} << 18;
    std::unique_ptr<char[]> buffer = std::make_unique_for_overwrite<char[]>(kBufferBytes);

    Input() = default;
    Input(const Input&) = delete;
    Input& operator=(const Input&) = delete;
    ~Input() {
        if (wake_fd >= 0) ::close(wake_fd);
        if (own_fd) ::close(fd);
    }

    // The stream's read: waits until the file has bytes or wake() was called; on a wake, the
    // end of the stream (libpcap then ends at a record boundary or reports a cut record, and
    // next_batch() reads either as the end).
    static ssize_t read(void* cookie, char* into, std::size_t size) {
        Input& in = *static_cast<Input*>(cookie);
        for (;;) {
            if (in.woken.load(std::memory_order_relaxed)) return 0;
            pollfd fds[2] = {{in.wake_fd, POLLIN, 0}, {in.fd, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return -1;
            }
            if ((fds[0].revents & POLLIN) != 0) {
                in.woken.store(true, std::memory_order_relaxed);
                return 0;
            }
            const ssize_t got = ::read(in.fd, into, size);
            if (got < 0 && errno == EINTR) continue;
            return got;
        }
    }
    static int close(void*) { return 0; }  // the descriptors are closed with the Input
};

std::unique_ptr<LibpcapFileSource> LibpcapFileSource::open(const std::string& path,
                                                           std::uint32_t ifindex,
                                                           std::string& error) {
    // As pcap_open_offline() opens it ("-" is standard input), with its error words.
    auto input = std::make_unique<Input>();
    if (path == "-") {
        // A closed standard input is said here: the eventfd below would otherwise take its
        // number and the read would wait on itself.
        if (::fcntl(STDIN_FILENO, F_GETFD) < 0) {
            error = "cannot read capture: standard input: " + error_text(errno);
            return nullptr;
        }
        input->fd = STDIN_FILENO;
    } else {
        input->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (input->fd < 0) {
            error = "cannot read capture: " + path + ": " + error_text(errno);
            return nullptr;
        }
        input->own_fd = true;
    }
    input->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (input->wake_fd < 0) {
        error = "cannot read capture: eventfd: " + error_text(errno);
        return nullptr;
    }
    FILE* stream = fopencookie(input.get(), "rb", {Input::read, nullptr, nullptr, Input::close});
    if (stream == nullptr) {
        error = "cannot read capture: " + error_text(errno);
        return nullptr;
    }
    (void)setvbuf(stream, input->buffer.get(), _IOFBF, Input::kBufferBytes);
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    // Declared after `input`, so closed (with the stream) before it on every way out.
    std::unique_ptr<pcap_t, decltype(&pcap_close)> handle(
        pcap_fopen_offline_with_tstamp_precision(stream, PCAP_TSTAMP_PRECISION_NANO, errbuf),
        &pcap_close);
    if (handle == nullptr) {
        (void)fclose(stream);  // libpcap leaves the stream to its caller when it fails
        error = std::string("cannot read capture: ") + errbuf;
        return nullptr;
    }
    int dlt = pcap_datalink(handle.get());
    LinkType link{};
    if (!link_type_from_dlt(dlt, link)) {
        error = unsupported_link_text(dlt);
        return nullptr;
    }
    std::unique_ptr<LibpcapFileSource> source(new LibpcapFileSource(link, dlt, ifindex));
    source->input_ = std::move(input);
    source->handle_ = handle.release();
    source->arena_ = std::make_unique_for_overwrite<std::uint8_t[]>(kBatchSize * kMaxRecordBytes);
    return source;
}

LibpcapFileSource::LibpcapFileSource(LinkType link, int dlt, std::uint32_t ifindex)
    : FileSourceCommon(link, dlt, ifindex) {}

LibpcapFileSource::~LibpcapFileSource() {
    if (handle_ != nullptr) pcap_close(handle_);
}

PollStatus LibpcapFileSource::poll(PacketBatch& batch) {
    return filtered(next_batch(batch), batch);
}

PollStatus LibpcapFileSource::next_batch(PacketBatch& batch) {
    batch.count = 0;
    std::uint8_t* free_space = arena_.get();
    while (batch.count < kBatchSize) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        int rc = pcap_next_ex(handle_, &hdr, &data);
        // Woken: the end, also when the stop came in the middle of a record (a read error in
        // the same instant is then not told apart: the run is stopping either way).
        if (rc == PCAP_ERROR_BREAK || (rc != 1 && input_->woken.load(std::memory_order_relaxed)))
            return PollStatus::end;
        if (rc != 1) return fail(pcap_geterr(handle_));
        ++packets_read_;
        // pcapng carries 64-bit times: a damaged one could overflow nanoseconds since 1970.
        if (static_cast<std::uint64_t>(hdr->ts.tv_sec) > kMaxRecordSeconds) {
            ++packets_bad_time_;
            continue;
        }
        // libpcap reuses its buffer on the next call, so the batch keeps its own copy.
        std::uint32_t caplen = std::min<std::uint32_t>(hdr->caplen, kMaxRecordBytes);
        std::memcpy(free_space, data, caplen);
        PacketView& v = batch.packets[batch.count++];
        v.data = free_space;
        v.captured_bytes = caplen;
        v.wire_bytes = hdr->len;
        // Opened with nanosecond precision: tv_usec holds nanoseconds. A fraction of a second
        // of 1e9 or more (seen in damaged captures) carries into the seconds.
        v.ts = Timestamp::from_sec_frac(hdr->ts.tv_sec, hdr->ts.tv_usec);
        v.ifindex = ifindex_;
        v.link = link_;
        free_space += caplen;
    }
    return PollStatus::packets;
}

void LibpcapFileSource::wake() {
    input_->woken.store(true, std::memory_order_relaxed);
    const std::uint64_t one = 1;
    (void)::write(input_->wake_fd, &one, sizeof one);
}

}  // namespace spanflow
