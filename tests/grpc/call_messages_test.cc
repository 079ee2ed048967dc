#include "service/grpc/call_messages.h"

#include <gtest/gtest.h>

#include <string>

#include "gatehouse/v1/ratelimit.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "service/grpc/request_parser.h"

namespace gatehouse {
namespace {

using BatchMessages = CallMessages<v1::BatchRequest, v1::BatchResponse>;

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

v1::BatchRequest Batch(int items) {
  v1::BatchRequest request;
  for (int i = 0; i < items; ++i) {
    v1::Subject* s = request.add_items()->mutable_check()->add_subjects();
    s->set_policy("login_ip");
    (*s->mutable_key())["ip"] = "198.51.100." + std::to_string(i % 256);
    (*s->mutable_key())["user"] = "user-" + std::to_string(i) + "@example.com";
  }
  return request;
}

TEST(CallMessagesTest, BothMessagesLiveOnTheCallsArena) {
  BatchMessages messages;
  // On the heap in a ThreadSanitizer build (call_messages.h says why).
  google::protobuf::Arena* const arena =
      kCallMessagesOnArena ? &messages.arena : nullptr;
  EXPECT_EQ(messages.request->GetArena(), arena);
  EXPECT_EQ(messages.response->GetArena(), arena);
}

TEST(CallMessagesTest, ASmallRequestFitsTheInlineBlock) {
  BatchMessages messages;
  const v1::BatchRequest sent = Batch(4);
  ASSERT_TRUE(
      ParseRequest(Buffer(sent.SerializeAsString()), messages.request).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      *messages.request, sent));
  EXPECT_LE(messages.arena.SpaceAllocated(), BatchMessages::kInlineBlock);
}

// The largest Batch the service takes (256 items) grows the arena beyond
// its inline block, and parses and answers the same.
TEST(CallMessagesTest, ALargeRequestGrowsTheArena) {
  BatchMessages messages;
  const v1::BatchRequest sent = Batch(256);
  ASSERT_TRUE(
      ParseRequest(Buffer(sent.SerializeAsString()), messages.request).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      *messages.request, sent));
  for (int i = 0; i < sent.items_size(); ++i) {
    messages.response->add_results()->mutable_check()->set_allowed(true);
  }
  if (kCallMessagesOnArena) {
    EXPECT_GT(messages.arena.SpaceAllocated(), BatchMessages::kInlineBlock);
  }
  v1::BatchResponse copy = *messages.response;
  EXPECT_EQ(copy.results_size(), 256);
}

}  // namespace
}  // namespace gatehouse
