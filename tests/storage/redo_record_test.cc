#include "service/storage/redo_record.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

TEST(RedoRecordTest, ChangesDecodeInTheOrderTheyWereAdded) {
  RedoRecordBuilder builder;
  builder.Put("c-one", "state-1");
  builder.Delete("c-two");
  builder.Put("c-one", std::string("\0\xff", 2));
  builder.Put("", "");
  std::vector<RedoChange> changes;
  ASSERT_TRUE(DecodeRedoRecord(builder.record(), changes).ok());
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].key, "c-one");
  EXPECT_EQ(changes[0].value, "state-1");
  EXPECT_EQ(changes[1].key, "c-two");
  EXPECT_FALSE(changes[1].value.has_value());
  EXPECT_EQ(changes[2].value, std::string("\0\xff", 2));
  EXPECT_EQ(changes[3].key, "");
  EXPECT_EQ(changes[3].value, "");
}

TEST(RedoRecordTest, RollingBackToAMarkForgetsTheChangesAfterIt) {
  RedoRecordBuilder builder;
  EXPECT_TRUE(builder.empty());
  builder.Put("kept", "1");
  const size_t mark = builder.Mark();
  builder.Put("dropped", "2");
  builder.Delete("dropped-too");
  builder.RollbackTo(mark);
  builder.Delete("after");
  std::vector<RedoChange> changes;
  ASSERT_TRUE(DecodeRedoRecord(builder.record(), changes).ok());
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].key, "kept");
  EXPECT_EQ(changes[1].key, "after");
}

TEST(RedoRecordTest, EveryTruncationAndABadKindIsDataLoss) {
  RedoRecordBuilder builder;
  builder.Put("c-key", "a state");
  builder.Delete("c-other");
  const std::string record = builder.record();
  for (size_t n = 1; n < record.size(); ++n) {
    std::vector<RedoChange> changes;
    const absl::Status s = DecodeRedoRecord(record.substr(0, n), changes);
    // A cut right after a whole change decodes; anything else must not.
    if (s.ok()) {
      EXPECT_EQ(changes.size(), 1u) << n;
      continue;
    }
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << n;
    EXPECT_TRUE(absl::StrContains(s.message(), "redo record")) << s;
  }
  std::string bad_kind = record;
  bad_kind[0] = 7;
  std::vector<RedoChange> changes;
  EXPECT_EQ(DecodeRedoRecord(bad_kind, changes).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace gatehouse
