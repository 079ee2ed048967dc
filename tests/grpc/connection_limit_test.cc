#include "service/grpc/connection_limit.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace gatehouse {
namespace {

// One end of a fresh socket pair (the other end is closed).
int NewSocket() {
  int fds[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  close(fds[1]);
  return fds[0];
}

TEST(ConnectionLimitTest, RefusesBeyondTheBoundUntilOneCloses) {
  ConnectionLimit limit(2);
  const int a = NewSocket(), b = NewSocket(), c = NewSocket();
  EXPECT_TRUE(limit.Admit(a));
  EXPECT_TRUE(limit.Admit(b));
  EXPECT_FALSE(limit.Admit(c));
  EXPECT_EQ(limit.open(), 2);
  EXPECT_EQ(limit.refused(), 1u);
  close(a);
  EXPECT_TRUE(limit.Admit(c));
  EXPECT_EQ(limit.open(), 2);
  close(b);
  close(c);
  EXPECT_EQ(limit.open(), 0);
}

TEST(ConnectionLimitTest, ADescriptorReusedByAnotherSocketIsANewConnection) {
  ConnectionLimit limit(1);
  const int a = NewSocket();
  EXPECT_TRUE(limit.Admit(a));
  close(a);
  // The next socket usually gets the same descriptor number back.
  const int b = NewSocket();
  EXPECT_TRUE(limit.Admit(b));
  const int c = NewSocket();
  EXPECT_FALSE(limit.Admit(c)) << "b is open and counts";
  close(b);
  close(c);
}

TEST(ConnectionLimitTest, ZeroMeansNoBound) {
  ConnectionLimit limit(0);
  std::vector<int> fds;
  for (int i = 0; i < 50; ++i) {
    fds.push_back(NewSocket());
    EXPECT_TRUE(limit.Admit(fds.back()));
  }
  EXPECT_EQ(limit.refused(), 0u);
  for (int fd : fds) close(fd);
}

}  // namespace
}  // namespace gatehouse
