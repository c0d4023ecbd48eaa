// SpscRing: a bounded single-producer single-consumer ring, the only place where the probe's
// threads meet (capture -> shard workers -> exporter). Written in the manner of rigtorp/SPSCQueue:
//
//     slots_  [ s0 | s1 | ... | s(n) ]   n+1 slots for capacity n: one stays empty, so that
//                                         write == read means empty and write+1 == read full
//     write_  producer's index (atomic)   read_cache_  producer's last look at read_
//     read_   consumer's index (atomic)   write_cache_ consumer's last look at write_
//
// Each index sits on its own cache line next to the peer-index copy that only its owner touches,
// so the producer reads the consumer's line only when its cached copy says the ring is full, and
// the consumer reads the producer's only when its copy says empty. Slots hold whole batches and
// are filled in place (claim, fill, publish) and read in place (front, use, pop): no copy and no
// allocation after construction. T must be default-constructible; slots are reused, never
// destroyed until the ring is.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>

namespace spanflow {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
class SpscRing {
  public:
    explicit SpscRing(std::size_t capacity) : size_(capacity + 1) {
        if (capacity == 0) throw std::invalid_argument("SpscRing capacity must be at least 1");
        slots_ = std::make_unique<Slot[]>(size_);
    }
    SpscRing(const SpscRing&) = delete;
    SpscRing& operator=(const SpscRing&) = delete;

    // Producer: the next free slot to fill, or null when the ring is full. The slot holds whatever
    // its last use left there. Calling again before publish() returns the same slot.
    [[nodiscard]] T* try_claim() {
        const std::size_t w = write_.load(std::memory_order_relaxed);
        const std::size_t next = w + 1 == size_ ? 0 : w + 1;
        if (next == read_cache_) {
            // Pairs with the release store in pop(): the consumer is done with that slot.
            read_cache_ = read_.load(std::memory_order_acquire);
            if (next == read_cache_) return nullptr;
        }
        return &slots_[w].value;
    }
    // Producer: hands the slot from try_claim() to the consumer.
    void publish() {
        const std::size_t w = write_.load(std::memory_order_relaxed);
        // Pairs with the acquire load in front(): the slot's contents are visible before the index.
        write_.store(w + 1 == size_ ? 0 : w + 1, std::memory_order_release);
    }

    // Consumer: the oldest published slot, or null when the ring is empty.
    [[nodiscard]] T* front() {
        const std::size_t r = read_.load(std::memory_order_relaxed);
        if (r == write_cache_) {
            // Pairs with the release store in publish().
            write_cache_ = write_.load(std::memory_order_acquire);
            if (r == write_cache_) return nullptr;
        }
        return &slots_[r].value;
    }
    // Consumer: gives the slot from front() back to the producer.
    void pop() {
        const std::size_t r = read_.load(std::memory_order_relaxed);
        // Pairs with the acquire load in try_claim().
        read_.store(r + 1 == size_ ? 0 : r + 1, std::memory_order_release);
    }

    [[nodiscard]] std::size_t capacity() const { return size_ - 1; }

  private:
    // Padding each slot to whole cache lines keeps a slot being written by the producer off the
    // line of one being read by the consumer.
    struct alignas(kCacheLine) Slot {
        T value{};
    };

    const std::size_t size_;
    std::unique_ptr<Slot[]> slots_;
    alignas(kCacheLine) std::atomic<std::size_t> write_{0};
    std::size_t read_cache_{0};
    alignas(kCacheLine) std::atomic<std::size_t> read_{0};
    std::size_t write_cache_{0};
    // Keeps the next object off read_'s line.
    [[maybe_unused]] char tail_padding_[kCacheLine - sizeof(std::size_t)]{};
};

// How a thread waits for a ring: spin briefly (the peer is usually a few hundred nanoseconds
// behind), then yield, then sleep in growing steps up to 1 ms, so that an idle probe costs no
// CPU and a replay on fewer cores than threads does not starve the thread it waits for.
class Backoff {
  public:
    void wait() {
        if (step_ < kSpins) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else if (step_ < kSpins + kYields) {
            std::this_thread::yield();
        } else {
            const unsigned shift = std::min(step_ - kSpins - kYields, 6u);
            std::this_thread::sleep_for(std::chrono::microseconds(16u << shift));
        }
        if (step_ < kSpins + kYields + 6) ++step_;
        ++waits_;
    }
    void reset() {
        step_ = 0;
    }
    [[nodiscard]] std::uint64_t waits() const {
        return waits_;
    }

  private:
    static constexpr unsigned kSpins = 16;
    static constexpr unsigned kYields = 2;
    unsigned step_{0};
    std::uint64_t waits_{0};
};

}  // namespace spanflow
