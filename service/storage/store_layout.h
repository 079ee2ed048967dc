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
// audit_storage_codec.h. The kLockoutsFamily column family holds the
// lockout index (lockout_index.h), each entry encoded by lockout_codec.h
// under two keys, so that both listings are one seek:
//
//   'a' order_key                       every policy's lockouts
//   'p' u8 len, policy, order_key       one policy's (policy 1..255 bytes)
//
// where order_key is LockoutOrderKey(locked_at_ms, storage_key), newest
// first. Both keys of an entry hold the same value and are written and
// deleted in the same batch. The kRedoFamily column family holds the
// counter changes not yet checkpointed into the default family, one record
// per write (redo_record.h) under SequenceKey(redo sequence); the
// checkpoint that moves them deletes them and stores kRedoCheckpointKey in
// the same batch (counter_checkpointer.h). Families missing from a data
// directory written before them are created empty on opening.
namespace gatehouse {

inline constexpr char kAuditFamily[] = "audit";
inline constexpr char kLockoutsFamily[] = "lockouts";
inline constexpr char kRedoFamily[] = "redo";

inline constexpr char kAllLockoutsPrefix = 'a';
inline constexpr char kPolicyLockoutsPrefix = 'p';
inline constexpr size_t kMaxIndexedPolicyBytes = 255;

// The key of an entry among every policy's lockouts.
std::string AllLockoutsKey(absl::string_view order_key);
// What every key of `policy`'s lockouts starts with. REQUIRES: `policy` is
// 1..kMaxIndexedPolicyBytes bytes.
std::string PolicyLockoutsPrefix(absl::string_view policy);
// The key of an entry among `policy`'s lockouts; same REQUIRES.
std::string PolicyLockoutsKey(absl::string_view policy,
                              absl::string_view order_key);

// Metadata keys in the default family; counter keys start with 'c'.
// The audit head, stored only by retention as it deletes events: otherwise
// the last event's key is the head, and a commit need not write it.
inline constexpr char kAuditHeadKey[] = "m:audit_head";
// Written by StoreMaintenance::Recover() to prove that writes go through
// again.
inline constexpr char kProbeKey[] = "m:write_probe";
// The redo sequence up to which the counter changes are checkpointed into
// this family (SequenceKey format); absent before the first checkpoint.
inline constexpr char kRedoCheckpointKey[] = "m:redo_checkpoint";

// The key of audit sequence `seq`: 8 bytes, big-endian, so that keys sort in
// sequence order.
std::string SequenceKey(uint64_t seq);

// The sequence a SequenceKey() (or the stored audit head) holds; reads at
// most 8 bytes.
uint64_t ParseSequenceKey(absl::string_view key);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_STORAGE_STORE_LAYOUT_H_
