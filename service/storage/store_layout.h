#ifndef GATEHOUSE_SERVICE_STORAGE_STORE_LAYOUT_H_
#define GATEHOUSE_SERVICE_STORAGE_STORE_LAYOUT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

// Where a RocksDB store keeps what on disk. Everything here is part of the
// format of existing data directories.
//
// The default column family holds counter states under their storage keys
// (which start with kCounterKeyPrefix, subject_key.h), encoded by
// value_codec.h, and the metadata keys below. The kAuditFamily column family
// holds audit events under SequenceKey(sequence), encoded by
// audit_storage_codec.h.
namespace gatehouse {

inline constexpr char kAuditFamily[] = "audit";

// Metadata keys in the default family; counter keys start with 'c'.
// The audit head, stored only by retention as it deletes events: otherwise
// the last event's key is the head, and a commit need not write it.
inline constexpr char kAuditHeadKey[] = "m:audit_head";
// Written by StoreMaintenance::Recover() to prove that writes go through
// again.
inline constexpr char kProbeKey[] = "m:write_probe";

// The key of audit sequence `seq`: 8 bytes, big-endian, so that keys sort in
// sequence order.
std::string SequenceKey(uint64_t seq);

// The sequence a SequenceKey() (or the stored audit head) holds; reads at
// most 8 bytes.
uint64_t ParseSequenceKey(absl::string_view key);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_STORE_LAYOUT_H_
