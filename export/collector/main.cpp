// spanflow-collect: receives NetFlow v5, v9 and IPFIX export datagrams over UDP, decodes them with
// the collector's own code and writes one JSON line per flow record. Used by the end-to-end tests
// and by hand.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "export/collector/collector.hpp"
#include "export/collector/endpoint.hpp"
#include "export/collector/line_writer.hpp"
#include "export/collector/udp_listener.hpp"
#include "probe/core/error_text.hpp"
#include "probe/core/flow_json.hpp"

namespace {

using namespace spanflow::collector;
using spanflow::error_text;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;  // the socket or the output failed after start
constexpr int kExitUsage = 2;    // bad option, or the listen address cannot be bound
// How long one wait may block: bounds how late a signal or the idle deadline is noticed.
constexpr std::chrono::milliseconds kPollInterval{100};
// Output is flushed at least this often while datagrams keep the socket busy.
constexpr std::chrono::seconds kFlushInterval{1};

constexpr const char* kListenAllowed = "ADDR:PORT (e.g. 127.0.0.1:2055 or [::1]:2055)";

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int) {
    g_stop = 1;
}

// No SA_RESTART: the signal must interrupt poll so the loop sees the flag at once.
void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    (void)sigaction(SIGINT, &sa, nullptr);
    (void)sigaction(SIGTERM, &sa, nullptr);
    // A reader of `-w -` that goes away is a write error, said in one line with what was not
    // written, not a silent death by SIGPIPE.
    (void)std::signal(SIGPIPE, SIG_IGN);
}

template <typename... Args>
void report(fmt::format_string<Args...> format, Args&&... args) {
    fmt::print(stderr, "spanflow-collect: {}\n", fmt::format(format, std::forward<Args>(args)...));
    (void)std::fflush(stderr);
}

std::optional<Seconds> parse_seconds(const std::string& text) {
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || !std::isfinite(value) || value <= 0) return std::nullopt;
    return Seconds{value};
}

struct Options {
    Endpoint listen{};
    std::string write_path{"-"};
    std::optional<Seconds> idle_exit{};
    OutputFormat format{OutputFormat::json};
};

// Parses the command line. Returns the exit status when the program should stop here (help,
// version or a bad option, already reported), nullopt to go on.
std::optional<int> parse_options(int argc, char** argv, Options& options) {
    CLI::App app{
        "A minimal flow collector: receives NetFlow v5, NetFlow v9 and IPFIX datagrams over "
        "UDP and writes one JSON line per flow record. IPFIX data that arrives before its "
        "template is held for up to 30 s; elements without a FlowRecord field appear as "
        "\"ie<N>\" members.",
        "spanflow-collect"};
    std::string listen_text;
    std::string idle_text;
    app.add_option("-l,--listen", listen_text,
                   "ADDR:PORT to receive on, e.g. 127.0.0.1:2055 or [::1]:2055; port 0 picks a "
                   "free port, printed on stderr")
        ->type_name("ADDR:PORT")
        ->required();
    app.add_option("-w,--write", options.write_path,
                   "file for the JSON lines, one per flow record; - is stdout")
        ->type_name("FILE")
        ->capture_default_str();
    app.add_option("--idle-exit", idle_text,
                   "exit once no datagram has arrived for SECONDS (may be fractional)")
        ->type_name("SECONDS");
    std::string format_text = "json";
    app.add_option("--format", format_text,
                   "json: one JSON line per flow record (IPFIX names); table: aligned columns "
                   "for reading")
        ->type_name("json|table")
        ->capture_default_str();
    app.set_version_flag("--version", "spanflow-collect " SPANFLOW_VERSION);

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {  // --help, --version
        return app.exit(e);
    } catch (const CLI::RequiredError&) {
        report("--listen is required: {}", kListenAllowed);
        return kExitUsage;
    } catch (const CLI::ParseError& e) {
        report("{} (see --help)", e.what());
        return kExitUsage;
    }

    const auto listen = parse_endpoint(listen_text);
    if (!listen) {
        report("--listen: '{}' is not {}", listen_text, kListenAllowed);
        return kExitUsage;
    }
    options.listen = *listen;
    if (app.count("--idle-exit") != 0) {
        options.idle_exit = parse_seconds(idle_text);
        if (!options.idle_exit) {
            report("--idle-exit: '{}' is not a positive number of seconds (e.g. 2 or 0.5)",
                   idle_text);
            return kExitUsage;
        }
    }
    if (format_text == "table") {
        options.format = OutputFormat::table;
    } else if (format_text != "json") {
        report("--format: '{}' is not allowed; give json or table", format_text);
        return kExitUsage;
    }
    if (options.write_path.empty()) {
        report("--write: '' is not a file name (a path, or - for stdout)");
        return kExitUsage;
    }
    return std::nullopt;
}

// How long the next wait may block: the poll interval, or less when the idle deadline is nearer.
// Compared in floating seconds first, so a huge --idle-exit never overflows a conversion.
std::chrono::milliseconds next_timeout(const Options& options, Clock::time_point last_datagram,
                                       Clock::time_point now) {
    if (!options.idle_exit) return kPollInterval;
    const Seconds remaining = *options.idle_exit - Seconds{now - last_datagram};
    if (remaining >= Seconds{kPollInterval}) return kPollInterval;
    return std::max(std::chrono::milliseconds{0},
                    std::chrono::ceil<std::chrono::milliseconds>(remaining));
}

}  // namespace

namespace {

int run(int argc, char** argv) {
    Options options;
    if (auto stop = parse_options(argc, argv, options)) return *stop;
    install_stop_handlers();

    LineWriter writer;
    if (const auto w = writer.open(options.write_path); w.status != WriteStatus::ok) {
        report("--write: cannot open '{}': {}", options.write_path, error_text(w.error));
        return kExitUsage;
    }
    UdpListener listener;
    if (const auto o = listener.open(options.listen); o.status != OpenStatus::ok) {
        report("--listen: cannot {} {}: {}",
               o.status == OpenStatus::socket_failed ? "open a UDP socket for" : "bind",
               format_endpoint(options.listen), error_text(o.error));
        return kExitUsage;
    }
    // Scripts read the real port from this line, so it goes out before any datagram is awaited.
    report("listening on {}", format_endpoint(listener.local()));

    Collector collector(options.format);
    if (options.format == OutputFormat::table) writer.buffer() += spanflow::flow_row_header();
    int status = kExitOk;
    auto flush = [&] {
        if (writer.buffer().empty()) return;
        if (const auto w = writer.flush(); w.status != WriteStatus::ok) {
            // The output is this program's purpose: it stops, saying how much it could not write.
            const auto lines = std::count(writer.buffer().begin(), writer.buffer().end(), '\n');
            report("cannot write '{}': {}; {} lines not written", options.write_path,
                   error_text(w.error), lines);
            writer.buffer().clear();
            status = kExitRuntime;
            g_stop = 1;
        }
    };

    auto last_datagram = Clock::now();
    auto last_flush = last_datagram;
    while (g_stop == 0) {
        auto now = Clock::now();
        if (options.idle_exit && Seconds{now - last_datagram} >= *options.idle_exit) break;
        switch (listener.wait(next_timeout(options, last_datagram, now))) {
            case WaitStatus::ready: {
                const ReceiveResult r = listener.receive();
                if (r.status != ReceiveStatus::ok) {
                    report("receive on {} failed: {}", format_endpoint(listener.local()),
                           error_text(r.error));
                    status = kExitRuntime;
                    g_stop = 1;
                    break;
                }
                const auto received = Clock::now();  // one clock read per batch
                for (std::size_t i = 0; i < r.count; ++i)
                    (void)collector.on_datagram(listener.datagram(i), listener.source(i),
                                                writer.buffer(), received);
                if (r.count != 0) last_datagram = received;
                if (writer.wants_flush()) flush();
                break;
            }
            case WaitStatus::timeout:
                // Idle socket: time out held IPFIX sets and let `tail -f` see the data.
                collector.expire(Clock::now());
                flush();
                break;
            case WaitStatus::interrupted:
                break;
            case WaitStatus::failed:
                report("waiting on {} failed: {}", format_endpoint(listener.local()),
                       error_text(errno));
                status = kExitRuntime;
                g_stop = 1;
                break;
        }
        now = Clock::now();
        if (now - last_flush >= kFlushInterval) {
            flush();
            last_flush = now;
        }
    }
    flush();

    report("{}", format_summary(collector.stats(), collector.sequences(), listener.kernel_drops()));
    for (const std::string& line : format_exporter_problems(collector.sequences()))
        report("{}", line);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {  // out of memory, or a library's surprise: one line
        report("{}", e.what());
        return kExitRuntime;
    }
}
