#ifndef GATEHOUSE_TESTS_TESTING_SANITIZERS_H_
#define GATEHOUSE_TESTS_TESTING_SANITIZERS_H_

#include <cstdint>

namespace gatehouse::testing {

// How much more memory a process holds under AddressSanitizer: its shadow
// memory, redzones and per-thread allocator caches roughly double every
// allocation. A bound on the server's RSS is multiplied by it; the server is
// built with the same flags as the test that starts it.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr uint64_t kSanitizerMemoryFactor = 2;
#else
inline constexpr uint64_t kSanitizerMemoryFactor = 1;
#endif

// How much slower a process runs under a sanitizer (the sanitizer builds
// are also -O0): a deadline a test gives the server to answer while it is
// being attacked is multiplied by it, so that it still bounds a stall
// rather than the build's speed.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerTimeFactor = 3;
#else
inline constexpr int kSanitizerTimeFactor = 1;
#endif

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_SANITIZERS_H_
