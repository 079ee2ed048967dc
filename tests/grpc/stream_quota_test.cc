#include "service/grpc/stream_quota.h"

#include <gtest/gtest.h>

namespace gatehouse {
namespace {

TEST(StreamQuotaTest, RefusesBeyondTheCapPerClientAndFreesOnRelease) {
  StreamQuota quota(2);
  auto a1 = quota.Acquire("a");
  auto a2 = quota.Acquire("a");
  ASSERT_NE(a1, nullptr);
  ASSERT_NE(a2, nullptr);
  EXPECT_EQ(quota.Acquire("a"), nullptr);
  EXPECT_EQ(quota.open("a"), 2);
  // Another client has its own allowance.
  auto b1 = quota.Acquire("b");
  EXPECT_NE(b1, nullptr);
  a1.reset();
  EXPECT_EQ(quota.open("a"), 1);
  EXPECT_NE(quota.Acquire("a"), nullptr);
}

TEST(StreamQuotaTest, ZeroMeansNoCap) {
  StreamQuota quota(0);
  std::vector<std::unique_ptr<StreamQuota::Lease>> leases;
  for (int i = 0; i < 1000; ++i) leases.push_back(quota.Acquire("a"));
  for (const auto& l : leases) EXPECT_NE(l, nullptr);
  EXPECT_EQ(quota.open("a"), 1000);
  leases.clear();
  EXPECT_EQ(quota.open("a"), 0);
}

}  // namespace
}  // namespace gatehouse
