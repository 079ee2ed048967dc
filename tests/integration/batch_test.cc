// RateLimiter/Batch and the coalescing client against the real server
// binary, its RocksDB store and its audit log.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

using BatchTest = ServerTest;

TEST_F(BatchTest, BatchRpcAnswersEachItemAndCommitsDurably) {
  auto channel = grpc::CreateChannel(server_->address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::RateLimiter::NewStub(channel);
  const v1::Subject ip = Client::MakeSubject("login_ip", {{"ip", "192.0.2.8"}});
  const v1::Subject user_ip =
      Client::MakeSubject("failed_auth_user_ip",
                          {{"user", "bob@example.com"}, {"ip", "192.0.2.8"}});
  v1::BatchRequest request;
  *request.add_items()->mutable_check()->add_subjects() = ip;
  *request.add_items()->mutable_record()->add_subjects() = user_ip;
  *request.add_items()->mutable_record()->add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "not-an-ip"}});
  *request.add_items()->mutable_record()->add_subjects() = user_ip;
  *request.add_items()->mutable_peek()->add_subjects() = user_ip;

  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + kTestToken);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  v1::BatchResponse response;
  grpc::Status status = stub->Batch(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 5);
  EXPECT_TRUE(response.results(0).check().allowed());
  EXPECT_EQ(response.results(1).record().verdicts(0).count(), 1u);
  EXPECT_EQ(response.results(2).status().code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(response.results(3).record().verdicts(0).count(), 2u);
  EXPECT_EQ(response.results(4).peek().verdicts(0).count(), 2u);
  // Audit events of one commit: consecutive, in item order.
  const uint64_t first =
      response.results(0).check().verdicts(0).audit_sequence();
  EXPECT_NE(first, 0u);
  EXPECT_EQ(response.results(1).record().verdicts(0).audit_sequence(),
            first + 1);
  EXPECT_EQ(response.results(3).record().verdicts(0).audit_sequence(),
            first + 2);

  server_->Kill();  // Acknowledged means written: no clean shutdown needed.
  StartServer();
  EXPECT_EQ(PeekCount(ip), 1u);
  EXPECT_EQ(PeekCount(user_ip), 2u);
}

TEST_F(BatchTest, CoalescingClientFromManyThreadsCountsExactly) {
  ClientOptions options;
  options.target = server_->address();
  options.token = kTestToken;
  options.deadline = absl::Seconds(10);
  options.coalesce_linger = absl::Milliseconds(2);
  const auto client = Client::Create(options);

  constexpr int kThreads = 32, kCalls = 10;
  const v1::Subject shared =
      Client::MakeSubject("login_ip", {{"ip", "192.0.2.9"}});
  absl::Mutex mu;
  std::multiset<uint64_t> admitted;
  std::atomic<int> failures{0}, denied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const v1::Subject mine = Client::MakeSubject(
          "failed_auth_user_ip",
          {{"user", "user" + std::to_string(t) + "@example.com"},
           {"ip", "192.0.2.9"}});
      for (int i = 1; i <= kCalls; ++i) {
        v1::CheckRequest check;
        *check.add_subjects() = shared;
        const Client::Result checked = client->Check(check);
        v1::RecordRequest record;
        *record.add_subjects() = mine;
        const Client::Result recorded = client->Record(record);
        if (!checked.status.ok() || checked.degraded || !recorded.status.ok() ||
            recorded.degraded ||
            recorded.verdicts.at(0).count() != static_cast<uint64_t>(i)) {
          ++failures;
          continue;
        }
        if (checked.allowed) {
          absl::MutexLock lock(&mu);
          admitted.insert(checked.verdicts.at(0).count());
        } else {
          ++denied;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(failures.load(), 0);
  // login_ip allows 20 a minute: exactly 20 admissions, counts 1..20.
  ASSERT_EQ(admitted.size(), 20u);
  EXPECT_EQ(std::set<uint64_t>(admitted.begin(), admitted.end()).size(), 20u);
  EXPECT_EQ(*admitted.rbegin(), 20u);
  EXPECT_EQ(denied.load(), kThreads * kCalls - 20);
  EXPECT_EQ(PeekCount(shared), 20u);
}

}  // namespace
}  // namespace gatehouse::testing
