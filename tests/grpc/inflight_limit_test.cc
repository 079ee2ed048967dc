// InflightLimit, and the RateLimiter service shedding with it in-process:
// beyond the bound a call is refused RESOURCE_EXHAUSTED before any work, and
// counts nothing.

#include "service/grpc/inflight_limit.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "service/clock/simulated_clock.h"
#include "service/config/policy_file.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/grpc/decision_pool.h"
#include "service/grpc/rate_limiter_service.h"
#include "tests/testing/in_process_server.h"

namespace gatehouse {
namespace {

TEST(InflightLimitTest, AdmitsUpToTheBoundAndReleasesOnDestruction) {
  InflightLimit limit(2);
  InflightLimit::Permit a = limit.TryAcquire();
  InflightLimit::Permit b = limit.TryAcquire();
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_FALSE(limit.TryAcquire());
  EXPECT_EQ(limit.inflight(), 2);
  {
    InflightLimit::Permit moved = std::move(a);
    EXPECT_TRUE(moved);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty.
    EXPECT_FALSE(limit.TryAcquire());
  }
  EXPECT_EQ(limit.inflight(), 1);
  EXPECT_TRUE(limit.TryAcquire());
}

TEST(InflightLimitTest, ZeroMeansNoBound) {
  InflightLimit limit(0);
  std::vector<InflightLimit::Permit> permits;
  for (int i = 0; i < 1000; ++i) permits.push_back(limit.TryAcquire());
  for (const InflightLimit::Permit& p : permits) EXPECT_TRUE(p);
}

TEST(InflightLimitTest, NeverAdmitsMoreThanTheBoundAcrossThreads) {
  InflightLimit limit(3);
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        InflightLimit::Permit p = limit.TryAcquire();
        if (!p) continue;
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --inside;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(limit.inflight(), 0);
}

// A RateLimiterService over an in-memory store with one policy (login_ip,
// 5 a minute), served in process; request_ records one hit on one IP.
class InflightLimitServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto policies = ParsePolicyYaml(
        "policies:\n  - {name: login_ip, dimensions: [ip], limit: 5, window: "
        "1m}\n",
        "test");
    ASSERT_TRUE(policies.ok()) << policies.status();
    limiter_ = std::make_unique<Limiter>(&clock_, &store_, *policies);
    v1::Subject* s = request_.add_subjects();
    s->set_policy("login_ip");
    (*s->mutable_key())["ip"] = "203.0.113.7";
  }

  // Serves the limiter bounded by `inflight`, deciding on `pool` (null:
  // inline); sets server_ and stub_.
  void Serve(InflightLimit* inflight, DecisionPool* pool = nullptr) {
    CallPipelineOptions options;
    options.limiter = limiter_.get();
    options.inflight = inflight;
    options.pool = pool;
    pipeline_ = std::make_unique<CallPipeline>(options);
    AuditStreamOptions streams;
    streams.log = &store_;
    service_ = std::make_unique<RateLimiterService>(pipeline_.get(), streams);
    server_ = testing::InProcessServer::Start({service_.get()});
    ASSERT_NE(server_, nullptr);
    stub_ = v1::RateLimiter::NewStub(server_->channel());
  }

  SimulatedClock clock_;
  InMemoryCounterStore store_;
  std::unique_ptr<Limiter> limiter_;
  std::unique_ptr<CallPipeline> pipeline_;
  std::unique_ptr<RateLimiterService> service_;
  std::unique_ptr<testing::InProcessServer> server_;
  std::unique_ptr<v1::RateLimiter::Stub> stub_;
  v1::RecordRequest request_;
};

TEST_F(InflightLimitServiceTest, ShedsBeyondTheBoundAndCountsNothing) {
  InflightLimit inflight(1);
  ASSERT_NO_FATAL_FAILURE(Serve(&inflight));
  {
    // The one slot is taken, as by a call in progress.
    InflightLimit::Permit busy = inflight.TryAcquire();
    ASSERT_TRUE(busy);
    grpc::ClientContext context;
    v1::RecordResponse response;
    const grpc::Status status = stub_->Record(&context, request_, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(status.error_message().find("--max_inflight_calls"),
              std::string::npos)
        << status.error_message();
    EXPECT_EQ(store_.HeadSequence(), 0u);
  }
  grpc::ClientContext context;
  v1::RecordResponse response;
  ASSERT_TRUE(stub_->Record(&context, request_, &response).ok());
  EXPECT_EQ(response.verdicts(0).count(), 1u);
  EXPECT_EQ(inflight.inflight(), 0);
  server_->Shutdown();
}

// With a DecisionPool (--sync_writes), a call is admitted on arrival and
// then waits for a pool thread holding its slot: the queue never holds more
// than the bound, and a call beyond it is shed at once, counting nothing.
TEST_F(InflightLimitServiceTest, PoolQueuesOnlyAdmittedCallsAndShedsTheRest) {
  InflightLimit inflight(2);
  DecisionPool pool(1);
  ASSERT_NO_FATAL_FAILURE(Serve(&inflight, &pool));

  // The pool's one thread is busy until released.
  absl::Notification release;
  pool.Run([&] { release.WaitForNotification(); });
  std::atomic<int> answered{0};
  std::vector<uint64_t> counts(2);
  std::vector<std::thread> admitted;
  for (int i = 0; i < 2; ++i) {
    admitted.emplace_back([&, i] {
      grpc::ClientContext context;
      v1::RecordResponse response;
      const grpc::Status status = stub_->Record(&context, request_, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (status.ok()) counts[i] = response.verdicts(0).count();
      ++answered;
    });
  }
  // Both admitted, neither decided: they wait for the pool.
  for (int i = 0; i < 2000 && inflight.inflight() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(inflight.inflight(), 2);
  {
    grpc::ClientContext context;
    v1::RecordResponse response;
    const grpc::Status status = stub_->Record(&context, request_, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  EXPECT_EQ(answered.load(), 0);
  EXPECT_EQ(store_.HeadSequence(), 0u);

  release.Notify();
  for (std::thread& t : admitted) t.join();
  EXPECT_EQ(answered.load(), 2);
  EXPECT_EQ(std::max(counts[0], counts[1]), 2u);
  EXPECT_EQ(store_.HeadSequence(), 2u);
  EXPECT_EQ(inflight.inflight(), 0);
  server_->Shutdown();
}

}  // namespace
}  // namespace gatehouse
