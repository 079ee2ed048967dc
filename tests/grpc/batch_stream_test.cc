// RateLimiter/BatchStream in-process: each message answered in order as its
// Batch call would be, whole-call errors ending the stream, load shedding
// per message, and streams ended by a server shutting down.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/grpc/decision_pool.h"
#include "tests/grpc/service_fixture.h"

namespace gatehouse {
namespace {

using grpc_test::kFullToken;
using grpc_test::kPeekToken;
using Stream = grpc::ClientReaderWriter<v1::BatchRequest, v1::BatchResponse>;

class BatchStreamTest : public grpc_test::RateLimiterServiceTest {
 protected:
  // A stream of `stub` (stub_ by default) with `token`; the context lives
  // as long as the test.
  std::unique_ptr<Stream> Open(const std::string& token,
                               v1::RateLimiter::Stub* stub = nullptr) {
    contexts_.push_back(Context(token));
    return (stub != nullptr ? stub : stub_.get())
        ->BatchStream(contexts_.back().get());
  }

  static v1::BatchRequest Checks(const std::vector<std::string>& ips,
                                 uint64_t hits = 0) {
    v1::BatchRequest request;
    for (const std::string& ip : ips) {
      AddSubject(request.add_items()->mutable_check()->mutable_subjects(),
                 "login_ip", {{"ip", ip}}, hits);
    }
    return request;
  }

  static v1::BatchRequest PeekOf(const std::string& ip) {
    v1::BatchRequest request;
    AddSubject(request.add_items()->mutable_peek()->mutable_subjects(),
               "login_ip", {{"ip", ip}});
    return request;
  }

  // The count login_ip holds for `ip`, by a Peek (which counts nothing).
  uint64_t CountOf(const std::string& ip) {
    v1::PeekRequest request;
    AddSubject(request.mutable_subjects(), "login_ip", {{"ip", ip}});
    v1::PeekResponse response;
    const grpc::Status status =
        stub_->Peek(Context(kFullToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.verdicts_size() == 1 ? response.verdicts(0).count() : 0;
  }

  // The service on a pipeline of its own, shedding under `inflight` or
  // deciding on `pool` (either may be null), served in-process.
  struct Served {
    std::unique_ptr<CallPipeline> pipeline;
    std::unique_ptr<RateLimiterService> service;
    std::unique_ptr<testing::InProcessServer> server;
    std::unique_ptr<v1::RateLimiter::Stub> stub;
  };
  Served Serve(InflightLimit* inflight, DecisionPool* pool) {
    CallPipelineOptions options;
    options.limiter = limiter_.get();
    options.authenticator = authenticator_.get();
    options.metrics = &call_metrics_;
    options.inflight = inflight;
    options.pool = pool;
    Served served;
    served.pipeline = std::make_unique<CallPipeline>(options);
    served.service = std::make_unique<RateLimiterService>(served.pipeline.get(),
                                                          StreamOptions());
    served.server = testing::InProcessServer::Start({served.service.get()});
    if (served.server != nullptr) {
      served.stub = v1::RateLimiter::NewStub(served.server->channel());
    }
    return served;
  }

  uint64_t Calls(const char* code) {
    return Counter(metrics_.grpc_requests_total, {"BatchStream", code});
  }

  std::vector<std::unique_ptr<grpc::ClientContext>> contexts_;
};

TEST_F(BatchStreamTest, AnswersEachMessageInOrderAsItsBatchCallWould) {
  std::unique_ptr<Stream> stream = Open(kFullToken);
  // Sent before any answer is read: later messages see earlier ones.
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(stream->Write(Checks({"203.0.113.7", "198.51.100.1"})));
  }
  for (uint64_t i = 1; i <= 4; ++i) {
    v1::BatchResponse response;
    ASSERT_TRUE(stream->Read(&response)) << i;
    ASSERT_EQ(response.results_size(), 2);
    for (const v1::BatchResult& result : response.results()) {
      ASSERT_EQ(result.status().code(), 0) << result.status().message();
      ASSERT_EQ(result.response_case(), v1::BatchResult::kCheck);
      // login_ip allows 3 a minute: the fourth is denied, counting nothing.
      EXPECT_EQ(result.check().allowed(), i <= 3) << i;
      EXPECT_EQ(result.check().verdicts(0).count(), std::min<uint64_t>(i, 3));
    }
  }
  ASSERT_TRUE(stream->WritesDone());
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(CountOf("203.0.113.7"), 3u);
  EXPECT_EQ(Calls("OK"), 4u);
  EXPECT_EQ(Counter(metrics_.decisions_total, {"login_ip", "check", "deny"}),
            2u);
}

TEST_F(BatchStreamTest, ItemTheCallerMayNotDoFailsAloneAndTheStreamGoesOn) {
  std::unique_ptr<Stream> stream = Open(kPeekToken);
  // The reader may peek login_ip only.
  v1::BatchRequest mixed = Checks({"203.0.113.7"});
  *mixed.add_items() = PeekOf("203.0.113.7").items(0);
  ASSERT_TRUE(stream->Write(mixed));
  v1::BatchResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).status().code(),
            static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(response.results(1).status().code(), 0);
  ASSERT_TRUE(stream->Write(PeekOf("203.0.113.7")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.results(0).status().code(), 0);
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(CountOf("203.0.113.7"), 0u);
}

TEST_F(BatchStreamTest, InvalidMessageEndsTheStreamAfterTheEarlierAnswers) {
  std::unique_ptr<Stream> stream = Open(kFullToken);
  ASSERT_TRUE(stream->Write(Checks({"203.0.113.7"})));
  ASSERT_TRUE(stream->Write(v1::BatchRequest()));  // no item
  // Never decided: read after the stream's end was chosen.
  stream->Write(Checks({"203.0.113.7"}));
  v1::BatchResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_TRUE(response.results(0).check().allowed());
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "items: at least one item is required");
  EXPECT_EQ(CountOf("203.0.113.7"), 1u);
  EXPECT_EQ(Calls("OK"), 1u);
  EXPECT_EQ(Calls("INVALID_ARGUMENT"), 1u);
}

TEST_F(BatchStreamTest,
       UnknownTokenEndsTheStreamUnauthenticatedCountingNothing) {
  std::unique_ptr<Stream> stream = Open("not-a-token-of-any-client-00000000");
  ASSERT_TRUE(stream->Write(Checks({"203.0.113.7"})));
  v1::BatchResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CountOf("203.0.113.7"), 0u);
  EXPECT_EQ(Calls("UNAUTHENTICATED"), 1u);
}

TEST_F(BatchStreamTest, OverloadedServerShedsTheMessageAndEndsTheStream) {
  InflightLimit limit(1);
  Served shedding = Serve(&limit, nullptr);
  ASSERT_NE(shedding.server, nullptr);
  std::unique_ptr<Stream> stream = Open(kFullToken, shedding.stub.get());
  ASSERT_TRUE(stream->Write(Checks({"10.0.0.1"})));
  v1::BatchResponse response;
  ASSERT_TRUE(stream->Read(&response));
  {
    const InflightLimit::Permit busy = limit.TryAcquire();
    ASSERT_TRUE(busy);
    ASSERT_TRUE(stream->Write(Checks({"10.0.0.1"})));
    EXPECT_FALSE(stream->Read(&response));
  }
  EXPECT_EQ(stream->Finish().error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  shedding.server->Shutdown();
  EXPECT_EQ(CountOf("10.0.0.1"), 1u);
  EXPECT_EQ(Calls("RESOURCE_EXHAUSTED"), 1u);
}

TEST_F(BatchStreamTest, ClosingEndsOpenAndLaterStreamsUnavailable) {
  std::unique_ptr<Stream> idle = Open(kFullToken);
  ASSERT_TRUE(idle->Write(Checks({"203.0.113.7"})));
  v1::BatchResponse response;
  ASSERT_TRUE(idle->Read(&response));
  const absl::Time start = absl::Now();
  service_->CloseBatchStreams();
  EXPECT_FALSE(idle->Read(&response));
  grpc::Status status = idle->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  std::unique_ptr<Stream> later = Open(kFullToken);
  later->Write(Checks({"203.0.113.7"}));
  EXPECT_FALSE(later->Read(&response));
  EXPECT_EQ(later->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CountOf("203.0.113.7"), 1u);
}

// A client that writes and never reads: once the answers fill the
// transport and BatchStreams::kMaxQueuedAnswers wait, the server stops
// reading, so HTTP/2 flow control stops the writer. Without the pause the
// server would read on and queue every answer in memory.
TEST_F(BatchStreamTest, AClientThatNeverReadsStallsItsStream) {
  v1::BatchRequest peeks;
  for (int i = 0; i < 64; ++i)
    *peeks.add_items() = PeekOf(absl::StrCat("10.9.0.", i)).items(0);
  constexpr int kMessages = 100000;
  std::unique_ptr<Stream> stream = Open(kFullToken);
  std::atomic<int> written{0};
  std::thread writer([&] {
    while (written.load() < kMessages && stream->Write(peeks)) ++written;
  });
  // Sampled until two samples a second apart agree (at most 20 s).
  int before = -1;
  uint64_t decided_before = 0;
  for (int i = 0; i < 20; ++i) {
    absl::SleepFor(absl::Seconds(1));
    const int now = written.load();
    const uint64_t decided = Calls("OK");
    if (now == before && decided == decided_before) break;
    before = now;
    decided_before = decided;
  }
  const int stalled_at = written.load();
  std::cerr << "writes stalled after " << stalled_at << " messages, "
            << Calls("OK") << " decided\n";
  EXPECT_LT(stalled_at, kMessages / 10);
  EXPECT_EQ(stalled_at, before);
  EXPECT_EQ(Calls("OK"), decided_before);
  contexts_.back()->TryCancel();
  writer.join();
  stream->Finish();
}

// Many streams at once on a decision pool (TSan runs this): each gets its
// own answers, in its own order, and every count lands once.
TEST_F(BatchStreamTest, ConcurrentStreamsOnAPoolEachGetTheirOwnAnswersInOrder) {
  DecisionPool pool(3);
  Served pooled = Serve(nullptr, &pool);
  ASSERT_NE(pooled.server, nullptr);

  constexpr int kStreams = 6;
  constexpr int kMessages = 40;
  std::vector<std::unique_ptr<Stream>> streams;
  for (int s = 0; s < kStreams; ++s)
    streams.push_back(Open(kFullToken, pooled.stub.get()));
  std::vector<std::thread> threads;
  std::vector<int> in_order(kStreams, 0);
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] {
      Stream& stream = *streams[s];
      std::thread writer([&] {
        for (int m = 0; m < kMessages; ++m) {
          // Each message records one more hit on the stream's own IP, then
          // peeks it: message m sees m + 1 hits only when answered in order.
          v1::BatchRequest request;
          const std::string ip = absl::StrCat("10.0.", s, ".1");
          AddSubject(request.add_items()->mutable_record()->mutable_subjects(),
                     "login_ip", {{"ip", ip}});
          *request.add_items() = PeekOf(ip).items(0);
          if (!stream.Write(request)) return;
        }
        stream.WritesDone();
      });
      v1::BatchResponse response;
      for (int m = 0; m < kMessages && stream.Read(&response); ++m) {
        const uint64_t want = m + 1;
        if (response.results_size() == 2 &&
            response.results(0).record().verdicts(0).count() == want &&
            response.results(1).peek().verdicts(0).count() == want) {
          ++in_order[s];
        }
      }
      writer.join();
    });
  }
  for (std::thread& t : threads) t.join();
  for (int s = 0; s < kStreams; ++s) {
    EXPECT_EQ(in_order[s], kMessages) << s;
    EXPECT_TRUE(streams[s]->Finish().ok()) << s;
  }
  pooled.server->Shutdown();
  EXPECT_EQ(Calls("OK"), static_cast<uint64_t>(kStreams * kMessages));
}

}  // namespace
}  // namespace gatehouse
