#ifndef GATEHOUSE_SERVICE_CORE_BYTE_CODEC_H_
#define GATEHOUSE_SERVICE_CORE_BYTE_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace gatehouse {

// The building blocks of the stored formats (value_codec, the audit event
// codec): LEB128 varints, zigzag for signed deltas, length-prefixed bytes.

inline void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void PutBytes(std::string& out, absl::string_view bytes) {
  PutVarint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Cursor over encoded input; every read fails cleanly (returns false) at
// the end of the input or on a malformed value. Not thread-safe.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view in) : in_(in) {}

  bool Byte(uint8_t& b) {
    if (pos_ >= in_.size()) return false;
    b = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(b)) return false;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return shift < 63 || b <= 1;
    }
    return false;
  }
  // A non-negative int64 stored as a plain varint.
  bool Signed(int64_t& v) {
    uint64_t u;
    if (!Varint(u)) return false;
    v = static_cast<int64_t>(u);
    return v >= 0;
  }
  // Any int64, zigzag-encoded.
  bool ZigZagged(int64_t& v) {
    uint64_t u;
    if (!Varint(u)) return false;
    v = UnZigZag(u);
    return true;
  }
  // Length-prefixed bytes, at most `max` of them.
  bool Bytes(std::string& out, size_t max) {
    uint64_t n;
    if (!Varint(n) || n > max || n > in_.size() - pos_) return false;
    out.assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  absl::string_view in_;
  size_t pos_ = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_BYTE_CODEC_H_
