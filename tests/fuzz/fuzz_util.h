#ifndef GATEHOUSE_TESTS_FUZZ_FUZZ_UTIL_H_
#define GATEHOUSE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"

// Aborts (a crash libFuzzer reports and minimises) when an invariant does
// not hold. `detail` is anything absl::StrCat accepts as a string.
#define FUZZ_CHECK(cond, detail)                                          \
  do {                                                                    \
    if (!(cond)) {                                                        \
      std::fprintf(stderr, "%s:%d: invariant failed: %s: %s\n", __FILE__, \
                   __LINE__, #cond, std::string(detail).c_str());         \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

namespace gatehouse::fuzz {

// Reads structured values from fuzz bytes. Past the end every read gives
// zero or empty, so any input decodes to something.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size)
      : data_(reinterpret_cast<const char*>(data), size) {}

  uint8_t Byte() {
    if (pos_ >= data_.size()) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  bool Bool() { return (Byte() & 1) != 0; }
  // Little-endian, `bytes` bytes (at most 8).
  uint64_t Uint(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= static_cast<uint64_t>(Byte()) << (8 * i);
    return v;
  }
  // A length byte (capped at `max_len`), then that many bytes.
  std::string String(size_t max_len) {
    size_t len = Byte();
    if (len > max_len) len = max_len;
    const absl::string_view s = data_.substr(pos_, len);
    pos_ += s.size();
    return std::string(s);
  }
  // One of `options`, by index.
  template <typename T, size_t N>
  const T& Pick(const T (&options)[N]) {
    return options[Byte() % N];
  }
  bool empty() const { return pos_ >= data_.size(); }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};

}  // namespace gatehouse::fuzz

#endif  // GATEHOUSE_TESTS_FUZZ_FUZZ_UTIL_H_
