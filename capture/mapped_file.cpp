#include "capture/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <mutex>

namespace spanflow {
namespace {

// The mappings the SIGBUS handler may repair. The handler reads this table with atomic loads only
// (no lock: it may run while the table is being changed); a mapping is added before it is read
// and removed after its reader is done, both under a mutex that only those two take.
struct Slot {
    std::atomic<std::uintptr_t> begin{0};  // 0: free
    std::atomic<std::uintptr_t> end{0};
    std::atomic<std::uintptr_t> fault{UINTPTR_MAX};  // the lowest page that faulted
};
constexpr int kSlots = 64;  // mapped files open at once; a 65th is read without a mapping
std::array<Slot, kSlots> g_slots;
std::mutex g_slots_mutex;
struct sigaction g_previous {};
std::uintptr_t g_page = 4096;
bool g_installed = false;

void on_sigbus(int sig, siginfo_t* info, void* context) {
    const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    for (Slot& slot : g_slots) {
        const std::uintptr_t begin = slot.begin.load(std::memory_order_acquire);
        const std::uintptr_t end = slot.end.load(std::memory_order_acquire);
        if (begin == 0 || addr < begin || addr >= end) continue;
        // Zero pages from the faulting one to the end of the mapping: the read that faulted, and
        // every later one, reads zeros; the reader learns of it from cut().
        const std::uintptr_t page = addr & ~(g_page - 1);
        // An address made from the fault's, on purpose: the page that faulted.
        void* zero = ::mmap(reinterpret_cast<void*>(page),  // NOLINT(performance-no-int-to-ptr)
                            end - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (zero == MAP_FAILED) break;
        std::uintptr_t seen = slot.fault.load(std::memory_order_relaxed);
        while (page < seen &&
               !slot.fault.compare_exchange_weak(seen, page, std::memory_order_release)) {
        }
        return;
    }
    // Not a mapped capture file: what would have happened without this handler.
    if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
        g_previous.sa_sigaction(sig, info, context);
    } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
        g_previous.sa_handler(sig);
    } else {
        (void)::signal(SIGBUS, SIG_DFL);  // the fault repeats on return, and the default ends us
    }
}

// A free slot for [data, data + size), the handler installed; -1 when every slot is taken.
int claim_slot(const std::uint8_t* data, std::size_t size) {
    std::lock_guard lock(g_slots_mutex);
    if (!g_installed) {
        g_page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        struct sigaction action {};
        action.sa_sigaction = on_sigbus;
        action.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&action.sa_mask);
        if (::sigaction(SIGBUS, &action, &g_previous) != 0) return -1;
        g_installed = true;
    }
    for (int i = 0; i < kSlots; ++i) {
        Slot& slot = g_slots[static_cast<std::size_t>(i)];
        if (slot.begin.load(std::memory_order_relaxed) != 0) continue;
        slot.fault.store(UINTPTR_MAX, std::memory_order_relaxed);
        slot.end.store(reinterpret_cast<std::uintptr_t>(data) + size, std::memory_order_release);
        slot.begin.store(reinterpret_cast<std::uintptr_t>(data), std::memory_order_release);
        return i;
    }
    return -1;
}

void free_slot(int i) {
    std::lock_guard lock(g_slots_mutex);
    Slot& slot = g_slots[static_cast<std::size_t>(i)];
    slot.begin.store(0, std::memory_order_release);
    slot.end.store(0, std::memory_order_release);
}

}  // namespace

std::unique_ptr<MappedFile> MappedFile::open(const std::string& path, std::size_t min_bytes) {
    // "-" is standard input to libpcap. Only regular files can be mapped; a FIFO is never opened
    // here, since closing it again could cost its writer a SIGPIPE before libpcap reopens it.
    struct stat st {};
    if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    // Checked again on the descriptor: the path may name something else by now.
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<std::uint64_t>(st.st_size) < std::max<std::size_t>(min_bytes, 1)) {
        ::close(fd);
        return nullptr;
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        ::close(fd);
        return nullptr;
    }
    const auto* data = static_cast<const std::uint8_t*>(map);
    const int slot = claim_slot(data, size);
    if (slot < 0) {
        ::munmap(map, size);
        ::close(fd);
        return nullptr;
    }
    // Only advice; the file reads the same without it.
    (void)::madvise(map, size, MADV_SEQUENTIAL);
    return std::unique_ptr<MappedFile>(new MappedFile(fd, map, size, slot));
}

MappedFile::~MappedFile() {
    free_slot(slot_);
    ::munmap(map_, size_);
    ::close(fd_);
}

void MappedFile::release_before(std::size_t offset) {
    constexpr std::size_t kReleaseBytes = std::size_t{32} << 20;
    if (offset - released_ < kReleaseBytes) return;
    const std::size_t page = g_page;
    const std::size_t upto = offset / page * page;
    (void)::madvise(static_cast<std::uint8_t*>(map_) + released_, upto - released_, MADV_DONTNEED);
    released_ = upto;
}

bool MappedFile::cut() const {
    return g_slots[static_cast<std::size_t>(slot_)].fault.load(std::memory_order_acquire) !=
           UINTPTR_MAX;
}

bool MappedFile::shrank() {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) >= size_) return cut();
    Slot& slot = g_slots[static_cast<std::size_t>(slot_)];
    const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(data_) +
                              static_cast<std::size_t>(std::max<off_t>(st.st_size, 0));
    std::uintptr_t seen = slot.fault.load(std::memory_order_relaxed);
    while (at < seen && !slot.fault.compare_exchange_weak(seen, at, std::memory_order_release)) {
    }
    return true;
}

std::size_t MappedFile::readable_bytes() const {
    const std::uintptr_t fault =
        g_slots[static_cast<std::size_t>(slot_)].fault.load(std::memory_order_acquire);
    std::size_t readable =
        fault == UINTPTR_MAX ? size_ : fault - reinterpret_cast<std::uintptr_t>(data_);
    struct stat st {};
    if (::fstat(fd_, &st) == 0)
        readable = std::min(readable, static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)));
    return readable;
}

std::string cut_text(std::size_t readable) {
    return "the file was cut to " + std::to_string(readable) +
           " bytes while it was read (truncated or rewritten by another process)";
}

}  // namespace spanflow
