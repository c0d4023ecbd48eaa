#include "probe/app/run.hpp"

#include <cap-ng.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "capture/afxdp_source.hpp"
#include "capture/dpdk_source.hpp"
#include "capture/pcap_file_source.hpp"
#include "capture/pcap_live_source.hpp"
#include "export/export_path.hpp"
#include "export/json_lines_writer.hpp"
#include "probe/app/export_sink.hpp"
#include "probe/app/stats_report.hpp"
#include "probe/core/error_text.hpp"
#include "probe/runtime/capture_loop.hpp"
#include "probe/runtime/live_clock.hpp"
#include "probe/runtime/own_exports.hpp"
#include "probe/runtime/pipeline.hpp"
#include "probe/runtime/stats_board.hpp"

namespace spanflow {
namespace {

void error_line(const std::string& text) {
    fmt::print(stderr, "spanflow: {}\n", text);
}

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
// A stop signal this long after the first one exits at once; sooner, it is the same stop.
constexpr auto kSecondSignalAfter = std::chrono::seconds{1};
// A capture file's records are at most libpcap's MAXIMUM_SNAPLEN: the filter is compiled for it.
constexpr int kFileSnaplen = 262144;

// The machine's physical memory in GiB, or 0 when the system does not say.
double physical_memory_gib() {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0) return 0;
    return static_cast<double>(pages) * static_cast<double>(page_size) / kGiB;
}

sigset_t run_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGUSR1, SIGHUP}) sigaddset(&set, s);
    return set;
}

// A descriptor closed when it goes out of scope.
struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

// The probe's own export datagrams as flow keys, to leave out of live capture.
OwnExports own_exports_of(const UdpTransport& transport) {
    std::vector<OwnExportFlow> flows;
    auto copy_addr = [](const SocketAddress& a, std::array<std::uint8_t, 16>& out) {
        if (a.family() == AF_INET6) {
            std::memcpy(out.data(), &reinterpret_cast<const sockaddr_in6*>(a.get())->sin6_addr, 16);
        } else {
            std::memcpy(out.data(), &reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr, 4);
        }
    };
    for (const CollectorStats& c : transport.collectors()) {
        OwnExportFlow f;
        f.ip_version = c.address.family() == AF_INET6 ? 6 : 4;
        copy_addr(c.address, f.dst_addr);
        f.dst_port = static_cast<std::uint16_t>(c.address.port());
        if (c.local.length != 0) {
            copy_addr(c.local, f.src_addr);
            f.src_port = static_cast<std::uint16_t>(c.local.port());
        }
        f.any_src_addr = f.src_addr == std::array<std::uint8_t, 16>{};
        flows.push_back(f);
    }
    return OwnExports(std::move(flows));
}

// --user/--group: from here on, this process runs as that user, with CAP_NET_RAW kept (a
// capture reopened after its interface came back needs it; libpcap's ring, buffer size and
// promiscuous membership need nothing more) and every other capability, supplementary group and
// the bounding set dropped. Called before any thread starts: capabilities are per thread, and
// the threads inherit these.
bool drop_privileges(const ProbeConfig& config, std::string& error) {
    if (config.uid < 0 && config.gid < 0) return true;
    capng_clear(CAPNG_SELECT_BOTH);
    // AF_XDP also keeps CAP_NET_ADMIN: detaching its XDP program at the end needs it.
    const int admin = config.backend == Backend::afxdp ? CAP_NET_ADMIN : -1;
    if (capng_updatev(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                      CAP_NET_RAW, admin, -1) != 0) {
        error = "--user: cannot keep CAP_NET_RAW";
        return false;
    }
    const uid_t uid = config.uid >= 0 ? static_cast<uid_t>(config.uid) : getuid();
    const gid_t gid = config.gid >= 0 ? static_cast<gid_t>(config.gid) : getgid();
    const int rc =
        capng_change_id(static_cast<int>(uid), static_cast<int>(gid),
                        static_cast<capng_flags_t>(CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING));
    if (rc != 0) {
        error = fmt::format(
            "--user {}: cannot change to uid {} gid {} (libcap-ng error {}; "
            "changing user needs root)",
            config.user.empty() ? config.group : config.user, uid, gid, rc);
        return false;
    }
    return true;
}

struct Outputs {
    std::optional<JsonLinesWriter> json;
    UdpTransport transport;
    std::optional<ExportPath> exporter;
};

// Opens -w and the collectors' sockets. On failure prints the line and returns false.
bool open_outputs(const ProbeConfig& config, bool live, Outputs& out) {
    std::string error;
    if (!config.write_path.empty()) {
        out.json.emplace();
        if (!out.json->open(config.write_path, error)) {
            error_line(error);
            return false;
        }
    }
    if (!out.transport.open(config.collectors, error)) {
        error_line(error);
        return false;
    }
    ExportConfig exporting = config.exporting;
    // Live, an ended flow goes out within a tick or so, not packed with later ones.
    if (live) exporting.max_hold = ExportSink::kLiveHold;
    if (!config.collectors.empty()) out.exporter.emplace(out.transport, exporting);
    return true;
}

// The whole run once the sources are open: one capture thread per source, all of one type, so
// the capture loop is compiled for that type. With `per_queue`, every flow key reaches one
// source only (one receive queue of a NIC that hashes addresses), so each source's thread owns a
// shard and updates it itself; otherwise the sources route packets to workers by key hash.
template <class Source, class Clock>
int run_sources(const ProbeConfig& config, const std::vector<Source*>& sources, bool live,
                bool per_queue = false) {
    Outputs outputs;
    if (!open_outputs(config, live, outputs)) return 2;

    PipelineConfig pipeline_config;
    pipeline_config.workers = per_queue ? static_cast<unsigned>(sources.size()) : config.workers;
    pipeline_config.ring_slots = config.ring_slots;
    pipeline_config.shard.max_flows = config.max_flows;
    pipeline_config.shard.timeouts = config.timeouts;
    pipeline_config.producers = static_cast<unsigned>(sources.size());
    // One source and one worker: that thread reads, decodes and owns the table.
    pipeline_config.run_to_completion = per_queue || (config.workers == 1 && sources.size() == 1);
    // Replay waits for room in a full ring; live capture never waits, it counts.
    pipeline_config.lossless = !live;
    if (outputs.exporter) {
        pipeline_config.shard.max_packets = pipeline_config.shard.max_bytes =
            ExportPath::max_counter(config.exporting.version);
    }
    ExportSink sink(outputs.json ? &*outputs.json : nullptr,
                    outputs.exporter ? &*outputs.exporter : nullptr, outputs.transport, live);
    // A cache or rings larger than the machine's memory are refused now, not found out by the
    // kernel's OOM killer once the table fills.
    const double tables = static_cast<double>(Pipeline::table_bytes(pipeline_config)) / kGiB;
    const double rings = static_cast<double>(Pipeline::ring_bytes(pipeline_config)) / kGiB;
    const std::string sizes = fmt::format(
        "--max-flows {} with --workers {} and --ring-size {} need {:.1f} GiB (flow tables {:.1f}, "
        "rings {:.1f})",
        config.max_flows, config.workers, config.ring_slots, tables + rings, tables, rings);
    const double memory = physical_memory_gib();
    if (memory > 0 && tables + rings > memory) {
        error_line(fmt::format("{}: more than this machine's {:.1f} GiB of memory", sizes, memory));
        return 2;
    }
    std::unique_ptr<Pipeline> pipeline;
    try {
        pipeline = std::make_unique<Pipeline>(pipeline_config, sink);
    } catch (const std::bad_alloc&) {
        error_line(sizes + ": cannot allocate that much");
        return 2;
    }

    StatsBoard board;
    std::vector<OwnExports> own(sources.size());
    for (std::size_t i = 0; i < sources.size(); ++i) {
        if constexpr (requires { sources[i]->name(); }) {
            board.add_capture(sources[i]->name(), sources[i]->ifindex(), sources[i]->link_type());
            own[i] = own_exports_of(outputs.transport);
        } else {
            board.add_capture(config.read_path, config.ifindex, sources[i]->link_type());
        }
    }

    std::string error;
    if (!drop_privileges(config, error)) {
        error_line(error);
        return 2;
    }

    // From here the signals are blocked in every thread (the threads started below inherit the
    // mask), and the main thread takes them from a signalfd. Until now they had their default
    // action: a run stopped while it opens its inputs has nothing to export yet. The main thread
    // sleeps in poll() on that descriptor and on an eventfd the last capture thread to end
    // writes to, so a replay's end and a signal both wake it at once.
    const sigset_t signals = run_signals();
    const Fd signal_fd(signalfd(-1, &signals, SFD_CLOEXEC));
    const Fd ended_fd(eventfd(0, EFD_CLOEXEC));
    if (signal_fd.fd < 0 || ended_fd.fd < 0) {
        error_line(std::string("cannot wait for signals: ") + error_text(errno));
        return 1;
    }
    try {
        pipeline->start();
    } catch (const std::system_error& e) {
        error_line(e.what());
        return 1;
    }
    std::atomic<bool> stop{false};
    std::atomic<unsigned> capturing{static_cast<unsigned>(sources.size())};
    std::vector<PollStatus> status(sources.size(), PollStatus::packets);
    std::vector<std::thread> threads;
    threads.reserve(sources.size());
    for (std::size_t i = 0; i < sources.size(); ++i) {
        const std::string name =
            live ? "sf-cap-" + board.captures()[i].name : std::string("sf-capture");
        try {
            threads.emplace_back([&, i, name] {
                name_this_thread(name);
                Clock clock;
                status[i] =
                    run_capture(*sources[i], clock, pipeline->producer(static_cast<unsigned>(i)),
                                own[i], board.captures()[i], stop);
                if (capturing.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                    const std::uint64_t one = 1;
                    (void)::write(ended_fd.fd, &one, sizeof one);
                }
            });
        } catch (const std::system_error& e) {
            // The captures already started stop; the rest finish their producers here.
            stop.store(true);
            for (std::size_t j = i; j < sources.size(); ++j)
                pipeline->producer(static_cast<unsigned>(j)).finish(PacketClock{});
            for (auto& t : threads) t.join();
            pipeline->join();
            error_line("cannot start thread " + name + ": " + e.code().message());
            return 1;
        }
    }
    if (live) {
        std::string names;
        for (const CaptureCell& c : board.captures())
            names += fmt::format("{}{} (ifIndex {})", names.empty() ? "" : ", ", c.name, c.ifindex);
        error_line("capturing on " + names);
        (void)sd_notifyf(0, "READY=1\nSTATUS=capturing on %s", names.c_str());
    }

    // The main thread serves the signals until every capture has ended.
    const auto started = std::chrono::steady_clock::now();
    ReportInputs report{config, board, *pipeline, sink, outputs.transport};
    std::chrono::steady_clock::time_point stop_signalled{};
    for (;;) {
        pollfd fds[2] = {{signal_fd.fd, POLLIN, 0}, {ended_fd.fd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) continue;  // EINTR: a signal not in the set (SIGSTOP...)
        if ((fds[1].revents & POLLIN) != 0) break;
        signalfd_siginfo info{};
        if ((fds[0].revents & POLLIN) == 0 ||
            ::read(signal_fd.fd, &info, sizeof info) != static_cast<ssize_t>(sizeof info))
            continue;
        const auto sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGINT || sig == SIGTERM) {
            const auto now = std::chrono::steady_clock::now();
            if (stop.load(std::memory_order_relaxed)) {
                // A second one, a while after the first: the run is stuck (a -w file on a
                // disk or pipe that takes nothing) or the operator will not wait for the flows
                // to go out. One
                // that follows at once is the same stop delivered twice (to the process and to
                // its process group, as timeout(1) and some supervisors do).
                if (now - stop_signalled < kSecondSignalAfter) continue;
                error_line("second stop signal: exiting without exporting the flows held");
#ifdef SPANFLOW_HAVE_AFXDP
                detach_all_afxdp_programs();  // no program stays on an interface
#endif
                std::_Exit(1);
            }
            stop_signalled = now;
            if (live) (void)sd_notify(0, "STOPPING=1");
            stop.store(true, std::memory_order_relaxed);
            for (auto& source : sources) {
                // A replay's read waiting on a pipe that sends nothing returns now.
                if constexpr (requires { source->wake(); }) source->wake();
            }
        } else if (sig == SIGUSR1) {
            report.running = true;
            report.elapsed_seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            print_report(stderr, report);
        } else if (sig == SIGHUP) {
            sink.request_reopen();
        }
    }
    for (auto& t : threads) t.join();
    pipeline->join();

    int exit_status = 0;
    if (outputs.json) {
        (void)outputs.json->flush();
        if (const std::string failure = outputs.json->take_failure(); !failure.empty())
            error_line(failure);
        if (outputs.json->failed() || outputs.json->lost() != 0) exit_status = 1;
    }
    report.running = false;
    print_report(stderr, report);
    for (std::size_t i = 0; i < sources.size(); ++i) {
        if (status[i] == PollStatus::error) {
            error_line(board.captures()[i].name + ": " + std::string(sources[i]->error()));
            exit_status = 1;
        }
    }
    return exit_status;
}

#ifdef SPANFLOW_HAVE_AFXDP
// AF_XDP: every queue of every interface is a capture thread. Each queue owns its flows when
// every port promises that a key reaches one queue; otherwise the queues route by key hash.
int run_afxdp(const ProbeConfig& config) {
    std::string error;
    std::vector<std::unique_ptr<AfXdpPort>> ports;
    std::vector<AfXdpQueue*> queues;
    bool per_queue = true;
    for (const InterfaceSpec& spec : config.interfaces) {
        auto port = AfXdpPort::open(spec.name, spec.ifindex, config.afxdp, error);
        if (!port) {
            error_line(error);
            return 2;  // the ports opened so far detach as `ports` goes
        }
        error_line(fmt::format("{}: AF_XDP, {}; {}", port->name(), port->description(),
                               port->flows_stay_on_one_queue()
                                   ? "each queue owns its flows"
                                   : "flows gathered by key across queues"));
        per_queue = per_queue && port->flows_stay_on_one_queue();
        for (AfXdpQueue* q : port->queues()) queues.push_back(q);
        ports.push_back(std::move(port));
    }
    // When the queues route by key, the workers are --workers; per queue, one per queue.
    const int status = run_sources<AfXdpQueue, LiveClock>(config, queues, true, per_queue);
    for (auto& p : ports) p->detach();  // before any socket closes
    return status;
}
#endif

#ifdef SPANFLOW_HAVE_DPDK
// DPDK: every queue of every port the EAL found is a capture thread, as for AF_XDP.
int run_dpdk(const ProbeConfig& config) {
    std::string error;
    auto capture = DpdkCapture::open(config.dpdk, error);
    if (!capture) {
        error_line(error);
        return 2;  // whatever was started is undone as `capture` goes
    }
    for (const std::string& port : capture->descriptions()) error_line(port);
    const bool per_queue = capture->flows_stay_on_one_queue();
    error_line(per_queue ? "DPDK: each queue owns its flows"
                         : "DPDK: flows gathered by key across queues");
    return run_sources<DpdkQueue, LiveClock>(config, capture->queues(), true, per_queue);
}
#endif

}  // namespace

int run_probe(const ProbeConfig& config) {
    // Stop signals wait in the signalfd from here on (run_sources reads it), so one that comes
    // while the capture opens cannot kill the process with an XDP program left attached.
    const sigset_t signals = run_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::string error;
#ifdef SPANFLOW_HAVE_AFXDP
    if (config.backend == Backend::afxdp) return run_afxdp(config);
#endif
#ifdef SPANFLOW_HAVE_DPDK
    if (config.backend == Backend::dpdk) return run_dpdk(config);
#endif
    if (!config.interfaces.empty()) {
        std::vector<std::unique_ptr<PcapLiveSource>> sources;
        for (const InterfaceSpec& spec : config.interfaces) {
            auto source = PcapLiveSource::open(spec.name, spec.ifindex, config.live, error);
            if (!source) {
                error_line(error);
                return 2;
            }
            sources.push_back(std::move(source));
        }
        std::vector<PcapLiveSource*> live;
        live.reserve(sources.size());
        for (auto& s : sources) live.push_back(s.get());
        return run_sources<PcapLiveSource, LiveClock>(config, live, true);
    }
    auto source = PcapFileSource::open(config.read_path, config.ifindex, error);
    if (!source) {
        error_line(config.read_path + ": " + error);
        return 2;
    }
    if (!config.filter.empty()) {
        PacketFilter filter;
        if (!filter.compile(config.filter, source->datalink(), kFileSnaplen, error)) {
            error_line(error);
            return 2;
        }
        source->set_filter(std::move(filter));
    }
    // The loop runs on the reader itself: mapped or libpcap, chosen once.
    return source->visit([&](auto& reader) {
        using Reader = std::remove_reference_t<decltype(reader)>;
        return run_sources<Reader, ReplayClock>(config, std::vector<Reader*>{&reader}, false);
    });
}

}  // namespace spanflow
