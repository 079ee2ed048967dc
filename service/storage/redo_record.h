#ifndef GATEHOUSE_SERVICE_STORAGE_REDO_RECORD_H_
#define GATEHOUSE_SERVICE_STORAGE_REDO_RECORD_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// The counter changes of one write (a group of commits, or one commit
// without audit events), as one value of the redo family (store_layout.h).
// Counter states reach the counters family later, by a checkpoint
// (counter_checkpointer.h); until then the redo family is where they are
// durable, and opening a store replays it.
//
// The format, repeated to the end of the value:
//   u8 kind (1 put, 2 delete), varint length, key,
//   and for a put: varint length, the state (value_codec.h).
// Changes apply in order: a key changed twice ends with the later change.
class RedoRecordBuilder {
 public:
  void Put(absl::string_view key, absl::string_view encoded_state);
  void Delete(absl::string_view key);

  // A point to roll back to (a commit that fails alone is taken out again).
  size_t Mark() const { return record_.size(); }
  void RollbackTo(size_t mark) { record_.resize(mark); }

  bool empty() const { return record_.empty(); }
  const std::string& record() const { return record_; }

 private:
  std::string record_;
};

// One change of a redo record: the key, and its encoded state (nullopt for
// a delete).
struct RedoChange {
  std::string key;
  std::optional<std::string> value;
};

// Appends the changes of `record` to `out`. DATA_LOSS when it does not
// decode; `out` may then hold the changes before the bad one.
absl::Status DecodeRedoRecord(absl::string_view record,
                              std::vector<RedoChange>& out);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_REDO_RECORD_H_
