#include "service/grpc/reflection_mode.h"

#include <gtest/gtest.h>

namespace gatehouse {
namespace {

TEST(ReflectionModeTest, AutoServesReflectionOnlyOnLoopback) {
  EXPECT_EQ(ReflectionEnabled("auto", "127.0.0.1:50051").value(), true);
  EXPECT_EQ(ReflectionEnabled("auto", "[::1]:0").value(), true);
  EXPECT_EQ(ReflectionEnabled("auto", "localhost:50051").value(), true);
  EXPECT_EQ(ReflectionEnabled("auto", "0.0.0.0:50051").value(), false);
  EXPECT_EQ(ReflectionEnabled("auto", "[::]:50051").value(), false);
  EXPECT_EQ(ReflectionEnabled("auto", "10.1.2.3:50051").value(), false);
}

TEST(ReflectionModeTest, OnlyLiteralLoopbackAddressesCountAsLoopback) {
  EXPECT_EQ(ReflectionEnabled("auto", "127.9.8.7:1").value(), true);
  EXPECT_EQ(ReflectionEnabled("auto", "127.example.com:1").value(), false);
  EXPECT_EQ(ReflectionEnabled("auto", "127.0.0.1.nip.io:1").value(), false);
  EXPECT_EQ(ReflectionEnabled("auto", "[::1].example:1").value(), false);
  EXPECT_EQ(ReflectionEnabled("auto", "[::2]:1").value(), false);
  EXPECT_EQ(ReflectionEnabled("auto", "localhost.example:1").value(), false);
  EXPECT_EQ(ReflectionEnabled("auto", "127.0.0.1").value(), false);
}

TEST(ReflectionModeTest, OnAndOffOverrideTheAddress) {
  EXPECT_EQ(ReflectionEnabled("on", "0.0.0.0:50051").value(), true);
  EXPECT_EQ(ReflectionEnabled("off", "127.0.0.1:50051").value(), false);
}

TEST(ReflectionModeTest, UnknownModeNamesTheFlag) {
  absl::StatusOr<bool> enabled = ReflectionEnabled("yes", "127.0.0.1:1");
  EXPECT_EQ(enabled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(enabled.status().message(),
            "--reflection: \"yes\" is not one of auto, on, off");
}

}  // namespace
}  // namespace gatehouse
