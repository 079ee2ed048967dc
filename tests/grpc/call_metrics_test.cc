// Storage failures are counted by the kind the store put in the status,
// never by its message.

#include "service/grpc/call_metrics.h"

#include <gtest/gtest.h>

#include "service/audit/audit_storage_codec.h"
#include "service/core/storage_error.h"
#include "service/metrics/registry.h"
#include "service/storage/value_codec.h"

namespace gatehouse {
namespace {

using metrics::GatehouseMetrics;

class CallMetricsTest : public ::testing::Test {
 protected:
  uint64_t StorageErrors(const char* operation) {
    return metrics_.storage_errors_total.WithLabels({operation}).Value();
  }

  metrics::Registry registry_;
  GatehouseMetrics metrics_{&registry_, "test"};
  CallMetrics calls_{&metrics_};
};

TEST_F(CallMetricsTest, ReadAndWriteFailuresAreCountedByKind) {
  calls_.RecordStorageError(
      StorageError(StorageErrorKind::kRead, "read counter: IO error"));
  // A message that starts with "read" is still a write when the store
  // says so.
  calls_.RecordStorageError(
      StorageError(StorageErrorKind::kWrite, "read-only file system"));
  calls_.RecordStorageError(
      StorageError(StorageErrorKind::kWrite, "commit: No space left"));
  EXPECT_EQ(StorageErrors(GatehouseMetrics::kStorageRead), 1u);
  EXPECT_EQ(StorageErrors(GatehouseMetrics::kStorageWrite), 2u);
}

TEST_F(CallMetricsTest, CorruptStoredValuesAreCountedAsReads) {
  const absl::StatusOr<CounterState> counter =
      DecodeCounterState(std::string("\xff\x01garbage", 9));
  ASSERT_EQ(counter.status().code(), absl::StatusCode::kDataLoss);
  calls_.RecordStorageError(counter.status());

  const absl::StatusOr<AuditEvent> event =
      DecodeAuditEvent(std::string("\xff\xff\xff", 3));
  ASSERT_EQ(event.status().code(), absl::StatusCode::kDataLoss);
  calls_.RecordStorageError(event.status());

  EXPECT_EQ(StorageErrors(GatehouseMetrics::kStorageRead), 2u);
  EXPECT_EQ(StorageErrors(GatehouseMetrics::kStorageWrite), 0u);
}

}  // namespace
}  // namespace gatehouse
