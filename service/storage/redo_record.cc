#include "service/storage/redo_record.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/core/byte_codec.h"

namespace gatehouse {
namespace {

constexpr uint8_t kPut = 1;
constexpr uint8_t kDelete = 2;

}  // namespace

void RedoRecordBuilder::Put(absl::string_view key,
                            absl::string_view encoded_state) {
  record_.push_back(static_cast<char>(kPut));
  PutBytes(record_, key);
  PutBytes(record_, encoded_state);
}

void RedoRecordBuilder::Delete(absl::string_view key) {
  record_.push_back(static_cast<char>(kDelete));
  PutBytes(record_, key);
}

absl::Status DecodeRedoRecord(absl::string_view record,
                              std::vector<RedoChange>& out) {
  constexpr size_t kAny = std::numeric_limits<size_t>::max();
  ByteReader in(record);
  while (!in.done()) {
    uint8_t kind = 0;
    RedoChange change;
    if (!in.Byte(kind) || (kind != kPut && kind != kDelete) ||
        !in.Bytes(change.key, kAny)) {
      return absl::DataLossError(absl::StrCat(
          "redo record: bad change header after ", out.size(), " changes"));
    }
    if (kind == kPut) {
      std::string value;
      if (!in.Bytes(value, kAny)) {
        return absl::DataLossError(
            absl::StrCat("redo record: bad state of the put after ", out.size(),
                         " changes"));
      }
      change.value = std::move(value);
    }
    out.push_back(std::move(change));
  }
  return absl::OkStatus();
}

}  // namespace gatehouse
