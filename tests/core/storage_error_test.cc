#include "service/core/storage_error.h"

#include <gtest/gtest.h>

namespace gatehouse {
namespace {

TEST(StorageErrorTest, EachKindTravelsInTheStatus) {
  for (StorageErrorKind kind :
       {StorageErrorKind::kRead, StorageErrorKind::kWrite,
        StorageErrorKind::kCorrupt}) {
    const absl::Status status = StorageError(kind, "what failed");
    EXPECT_EQ(StorageErrorKindOf(status), kind) << StorageErrorKindName(kind);
    EXPECT_EQ(status.message(), "what failed");
  }
}

TEST(StorageErrorTest, CorruptDataIsDataLossOthersUnavailable) {
  EXPECT_EQ(StorageError(StorageErrorKind::kRead, "x").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(StorageError(StorageErrorKind::kWrite, "x").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(StorageError(StorageErrorKind::kCorrupt, "x").code(),
            absl::StatusCode::kDataLoss);
}

TEST(StorageErrorTest, MessagesDoNotDecideTheKind) {
  EXPECT_EQ(StorageErrorKindOf(absl::UnavailableError("read counter: IO")),
            std::nullopt);
  EXPECT_EQ(StorageErrorKindOf(StorageError(StorageErrorKind::kWrite,
                                            "read-only file system")),
            StorageErrorKind::kWrite);
  EXPECT_EQ(StorageErrorKindOf(absl::OkStatus()), std::nullopt);
}

}  // namespace
}  // namespace gatehouse
