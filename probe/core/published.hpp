// A counters struct one thread writes and any thread may read while it runs: the statistics
// board's cell. The owner publishes a snapshot with relaxed stores, word by word, after each
// batch; a reader loads the words with relaxed loads. Each word is exact, though two words of
// one snapshot may come from two publishes a batch apart: good enough for a report, and no lock
// or fence on the owner's path (Seastar's map-reduce statistics, DESIGN.md "Statistics").
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace spanflow {

template <class T>
class Published {
    static_assert(std::is_trivially_copyable_v<T>, "published by copying words");
    static_assert(sizeof(T) % sizeof(std::uint64_t) == 0, "a counters struct of 64-bit words");
    static constexpr std::size_t kWords = sizeof(T) / sizeof(std::uint64_t);

  public:
    void publish(const T& value) {
        std::array<std::uint64_t, kWords> words{};
        std::memcpy(words.data(), static_cast<const void*>(&value), sizeof(T));
        for (std::size_t i = 0; i < kWords; ++i)
            words_[i].store(words[i], std::memory_order_relaxed);
    }
    [[nodiscard]] T read() const {
        std::array<std::uint64_t, kWords> words{};
        for (std::size_t i = 0; i < kWords; ++i)
            words[i] = words_[i].load(std::memory_order_relaxed);
        T value{};
        std::memcpy(static_cast<void*>(&value), words.data(), sizeof(T));
        return value;
    }

  private:
    std::array<std::atomic<std::uint64_t>, kWords> words_{};
};

}  // namespace spanflow
