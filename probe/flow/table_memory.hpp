// Zeroed memory for the flow table's big arrays, from 2 MiB huge pages where the system allows.
//
// A table of millions of flows is touched at random: with 4 KiB pages nearly every lookup also
// misses the TLB. So arrays of 2 MiB or more are mapped, in order of preference:
//   1. MAP_HUGETLB: reserved huge pages (vm.nr_hugepages), when an administrator set some aside
//      (without MAP_NORESERVE: the kernel must refuse now, not raise SIGBUS on first touch);
//   2. an ordinary anonymous mapping with madvise(MADV_HUGEPAGE): transparent huge pages, which
//      Debian and most distributions allow on request ("madvise" mode);
//   3. the same mapping without huge pages, where neither is available.
// Anonymous mappings are zeroed and cost nothing until touched, so a large --max-flows costs only
// what the flows use. The mapping fails cleanly (std::bad_alloc) when the system would not commit
// that much (no MAP_NORESERVE: an absurd --max-flows must fail at start, not be OOM-killed later).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace spanflow {

enum class PageKind : unsigned char { small, transparent_huge, reserved_huge };

template <class T>
class TableArray {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                  "table arrays are zeroed memory, never constructed or destroyed one by one");

  public:
    TableArray() = default;
    explicit TableArray(std::size_t count) : bytes_(std::max<std::size_t>(count, 1) * sizeof(T)) {
        constexpr std::size_t kHugePage = std::size_t{2} << 20;
        void* p = MAP_FAILED;
        if (bytes_ >= kHugePage) {
            const std::size_t rounded = (bytes_ + kHugePage - 1) & ~(kHugePage - 1);
            p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
            if (p != MAP_FAILED) {
                bytes_ = rounded;
                kind_ = PageKind::reserved_huge;
            }
        }
        if (p == MAP_FAILED) {
            p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) throw std::bad_alloc();
            if (bytes_ >= kHugePage && madvise(p, bytes_, MADV_HUGEPAGE) == 0)
                kind_ = PageKind::transparent_huge;
        }
        data_ = static_cast<T*>(p);
    }
    ~TableArray() {
        if (data_ != nullptr) munmap(data_, bytes_);
    }
    TableArray(TableArray&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), bytes_(o.bytes_), kind_(o.kind_) {}
    TableArray& operator=(TableArray&& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(bytes_, o.bytes_);
        std::swap(kind_, o.kind_);
        return *this;
    }

    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }
    [[nodiscard]] PageKind page_kind() const { return kind_; }

  private:
    T* data_{nullptr};
    std::size_t bytes_{0};
    PageKind kind_{PageKind::small};
};

}  // namespace spanflow
