#include "probe/core/spsc_ring.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <thread>

using spanflow::SpscRing;

TEST_SUITE("spsc_ring") {
    TEST_CASE("holds exactly its capacity, in order, across wrap-around") {
        for (std::size_t capacity : {1u, 2u, 5u, 64u}) {
            SpscRing<int> ring(capacity);
            CHECK(ring.capacity() == capacity);
            int next_in = 0, next_out = 0;
            for (int round = 0; round < 7; ++round) {
                for (std::size_t i = 0; i < capacity; ++i) {
                    int* slot = ring.try_claim();
                    REQUIRE(slot != nullptr);
                    *slot = next_in++;
                    ring.publish();
                }
                CHECK(ring.try_claim() == nullptr);  // full
                for (std::size_t i = 0; i < capacity; ++i) {
                    int* slot = ring.front();
                    REQUIRE(slot != nullptr);
                    CHECK(*slot == next_out++);
                    ring.pop();
                }
                CHECK(ring.front() == nullptr);  // empty
            }
        }
    }

    TEST_CASE("an unpublished claim is invisible and stays the same slot") {
        SpscRing<int> ring(3);
        int* a = ring.try_claim();
        REQUIRE(a != nullptr);
        *a = 7;
        CHECK(ring.front() == nullptr);
        CHECK(ring.try_claim() == a);
        ring.publish();
        REQUIRE(ring.front() != nullptr);
        CHECK(*ring.front() == 7);
    }

    TEST_CASE("capacity 0 is refused") {
        CHECK_THROWS_AS(SpscRing<int>(0), std::invalid_argument);
    }

    // Run under ThreadSanitizer by .ci/run: one producer and one consumer, every value arrives
    // once and in order, and the slot contents written before publish() are what pop() sees.
    TEST_CASE("stress: two threads, every element once and in order") {
        struct Item {
            std::uint64_t seq;
            std::uint64_t check;  // written separately: a torn or early read shows up here
        };
        constexpr std::uint64_t kItems = 300'000;
        for (std::size_t capacity : {1u, 3u, 1024u}) {
            SpscRing<Item> ring(capacity);
            std::thread producer([&] {
                spanflow::Backoff backoff;
                for (std::uint64_t i = 0; i < kItems; ++i) {
                    Item* slot;
                    while ((slot = ring.try_claim()) == nullptr) backoff.wait();
                    backoff.reset();
                    slot->seq = i;
                    slot->check = i * 0x9E3779B97F4A7C15ull;
                    ring.publish();
                }
            });
            std::uint64_t expected = 0, bad = 0;
            spanflow::Backoff backoff;
            while (expected < kItems) {
                Item* slot = ring.front();
                if (slot == nullptr) {
                    backoff.wait();
                    continue;
                }
                backoff.reset();
                if (slot->seq != expected || slot->check != expected * 0x9E3779B97F4A7C15ull) ++bad;
                ++expected;
                ring.pop();
            }
            producer.join();
            CHECK(bad == 0);
            CHECK(ring.front() == nullptr);
        }
    }
}
