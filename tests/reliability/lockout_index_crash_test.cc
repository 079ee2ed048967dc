// The lockout index under kill -9 of the real server: a lockout that was
// acknowledged (a Record that answered with it, or a Block) is listed by
// ListLockouts after the restart; one that was unblocked, or has run out,
// never is.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gatehouse/v1/admin.grpc.pb.h"
#include "tests/reliability/reliability_support.h"

namespace gatehouse::testing {
namespace {

constexpr int kKills = 5;

class Admin {
 public:
  explicit Admin(const std::string& address)
      : stub_(v1::Admin::NewStub(grpc::CreateChannel(
            address, grpc::InsecureChannelCredentials()))) {}

  // OK when the server acknowledged it.
  grpc::Status Block(const std::string& ip, int64_t seconds) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::BlockRequest request;
    *request.mutable_subject() = Ip(ip);
    request.set_reason("crash test");
    if (seconds > 0) request.mutable_duration()->set_seconds(seconds);
    v1::BlockResponse response;
    return stub_->Block(&ctx, request, &response);
  }
  grpc::Status Unblock(const std::string& ip) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::UnblockRequest request;
    *request.mutable_subject() = Ip(ip);
    request.set_reason("crash test");
    v1::UnblockResponse response;
    return stub_->Unblock(&ctx, request, &response);
  }
  // Every ip listed for failed_auth_user_ip, over all pages.
  std::set<std::string> Listed() {
    std::set<std::string> out;
    std::string token;
    do {
      grpc::ClientContext ctx;
      Prepare(ctx);
      v1::ListLockoutsRequest request;
      request.set_policy("failed_auth_user_ip");
      request.set_page_size(100);
      request.set_page_token(token);
      v1::ListLockoutsResponse response;
      const grpc::Status status = stub_->ListLockouts(&ctx, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const v1::Lockout& l : response.lockouts()) {
        out.insert(l.subject().key().at("ip"));
      }
      token = response.next_page_token();
    } while (!token.empty());
    return out;
  }

 private:
  static v1::Subject Ip(const std::string& ip) {
    return Client::MakeSubject("failed_auth_user_ip",
                               {{"user", "crash"}, {"ip", ip}});
  }
  static void Prepare(grpc::ClientContext& ctx) {
    ctx.AddMetadata("authorization",
                    absl::StrCat("Bearer ", kReliabilityToken));
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(2));
  }
  std::unique_ptr<v1::Admin::Stub> stub_;
};

TEST(LockoutIndexCrashTest, AcknowledgedLockoutsAreListedAfterKillNine) {
  TempDir dir;
  ReliableServer server(dir.path(), dir.path() + "/data");
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;

  absl::Mutex mu;
  std::set<std::string> locked;  // Acknowledged lockouts.
  std::atomic<bool> stop{false};
  std::atomic<int> next_ip{0};
  // Failures of distinct subjects at full speed: the fifth of each locks
  // it out (1 minute, far longer than the test).
  std::thread recorder([&] {
    std::unique_ptr<Client> client = server.NewClient(absl::Seconds(1));
    while (!stop.load()) {
      const int n = next_ip.fetch_add(1);
      const std::string ip =
          absl::StrCat("198.18.", n / 250 % 250, ".", n % 250 + 1);
      for (int i = 0; i < 5 && !stop.load(); ++i) {
        v1::RecordRequest request;
        *request.add_subjects() = Client::MakeSubject(
            "failed_auth_user_ip", {{"user", "crash"}, {"ip", ip}});
        const Client::Result r = client->Record(request);
        if (r.status.ok() && r.verdicts.size() == 1 &&
            r.verdicts[0].has_locked_until()) {
          absl::MutexLock lock(&mu);
          locked.insert(ip);
        }
        if (!r.status.ok()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    }
  });

  std::set<std::string> blocked, unblocked, expiring;
  for (int k = 0; k < kKills; ++k) {
    Admin admin(server.address());
    const std::string kept = absl::StrCat("203.0.113.", k + 1);
    const std::string lifted = absl::StrCat("203.0.113.", k + 101);
    const std::string brief = absl::StrCat("203.0.113.", k + 201);
    if (admin.Block(kept, 0).ok()) blocked.insert(kept);
    ASSERT_TRUE(admin.Block(lifted, 3600).ok());
    if (admin.Unblock(lifted).ok()) unblocked.insert(lifted);
    if (admin.Block(brief, 1).ok()) expiring.insert(brief);
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 50 * k));
    server.process().Kill();
    ASSERT_TRUE(server.Start(&error)) << "restart " << k + 1 << ": " << error;
  }
  stop = true;
  recorder.join();
  // Past every 1-second Block.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));

  Admin admin(server.address());
  const std::set<std::string> listed = admin.Listed();
  absl::MutexLock lock(&mu);
  ASSERT_GT(locked.size(), 10u) << "the load locked too few subjects";
  for (const std::string& ip : locked) {
    EXPECT_TRUE(listed.count(ip)) << ip << " was locked, not listed";
  }
  for (const std::string& ip : blocked) {
    EXPECT_TRUE(listed.count(ip)) << ip << " was blocked, not listed";
  }
  for (const std::string& ip : unblocked) {
    EXPECT_FALSE(listed.count(ip)) << ip << " was unblocked, yet listed";
  }
  for (const std::string& ip : expiring) {
    EXPECT_FALSE(listed.count(ip)) << ip << " has expired, yet listed";
  }
  EXPECT_EQ(blocked.size(), static_cast<size_t>(kKills));
  std::cout << "lockout index: " << kKills << " x kill -9; " << locked.size()
            << " acknowledged ceiling lockouts and " << blocked.size()
            << " blocks listed after restart; " << unblocked.size()
            << " unblocked and " << expiring.size() << " expired not listed; "
            << listed.size() << " listed\n";
}

}  // namespace
}  // namespace gatehouse::testing
