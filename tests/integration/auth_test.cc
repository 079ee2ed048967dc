// Callers and credentials against the real server: refusals, rotation.

#include <atomic>
#include <fstream>
#include <thread>

#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

constexpr char kOldToken[] = "rot-old-Vb7Qm2Xk9Lp4Rt8Wz3Nc6Hd1Jf5Gs0Ya";
constexpr char kNewToken[] = "rot-new-Ke4Tn8Uq2Wm6Xr1Zp9Lb3Vc7Yd5Hf0Ja";
constexpr char kReaderToken[] = "reader-Pq3Wd8Ls1Mx6Nz9Cb4Vk7Rt2Yg5Hj0Fe";

std::string Credentials(const std::vector<std::string>& api_tokens) {
  std::string hashes;
  for (const std::string& t : api_tokens) {
    if (!hashes.empty()) hashes += ", ";
    hashes += HexEncode(Sha256(t));
  }
  return "clients:\n"
         "  - id: api\n"
         "    token_sha256: [" +
         hashes +
         "]\n"
         "    scopes: [check, peek, record, reset]\n"
         "  - id: reader\n"
         "    token_sha256: [" +
         HexEncode(Sha256(kReaderToken)) +
         "]\n"
         "    scopes: [peek]\n"
         "    policies: [login_ip]\n";
}

class AuthTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    // Replace the fixture's credentials with ours and restart on them.
    std::ofstream(credentials_, std::ios::trunc) << Credentials({kOldToken});
    server_->Stop();
    StartServer();
  }

  std::unique_ptr<Client> ClientWithToken(const std::string& token) {
    ClientOptions options;
    options.target = server_->address();
    options.token = token;
    options.deadline = absl::Seconds(5);
    options.failure_mode = FailureMode::kFailClosed;
    return Client::Create(options);
  }

  static v1::RecordRequest RecordIp(const std::string& ip) {
    v1::RecordRequest r;
    *r.add_subjects() = Client::MakeSubject("login_ip", {{"ip", ip}});
    return r;
  }

  uint64_t CountOf(const std::string& ip) {
    v1::PeekRequest peek;
    *peek.add_subjects() = Client::MakeSubject("login_ip", {{"ip", ip}});
    Client::Result r = ClientWithToken(kOldToken)->Peek(peek);
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    return r.verdicts.empty() ? 0 : r.verdicts[0].count();
  }

  void RewriteCredentials(const std::vector<std::string>& tokens) {
    const std::string tmp = credentials_ + ".tmp";
    std::ofstream(tmp, std::ios::trunc) << Credentials(tokens);
    std::rename(tmp.c_str(), credentials_.c_str());
    server_->Signal(SIGHUP);
  }

  // Polls until `token` gets `code` from a Peek (the reload is asynchronous).
  bool WaitForCode(const std::string& token, grpc::StatusCode code) {
    v1::PeekRequest peek;
    *peek.add_subjects() =
        Client::MakeSubject("login_ip", {{"ip", "10.0.0.9"}});
    auto client = ClientWithToken(token);
    for (int i = 0; i < 500; ++i) {
      if (client->Peek(peek).status.error_code() == code) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

TEST_F(AuthTest, EveryKindOfRefusalHasItsCodeAndCountsNothing) {
  const std::string ip = "203.0.113.40";
  // No token.
  Client::Result none = ClientWithToken("")->Record(RecordIp(ip));
  EXPECT_EQ(none.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A token nobody holds.
  Client::Result wrong =
      ClientWithToken("not-a-token-we-know-0123456789")->Record(RecordIp(ip));
  EXPECT_EQ(wrong.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A known client without the scope.
  Client::Result scope = ClientWithToken(kReaderToken)->Record(RecordIp(ip));
  EXPECT_EQ(scope.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // A known client asking about a policy that is not its own.
  v1::PeekRequest other;
  *other.add_subjects() = Client::MakeSubject(
      "failed_auth_user_ip", {{"user", "x@example.com"}, {"ip", ip}});
  Client::Result policy = ClientWithToken(kReaderToken)->Peek(other);
  EXPECT_EQ(policy.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  for (const auto* r : {&none, &wrong, &scope, &policy}) {
    EXPECT_FALSE(r->allowed) << "fail-closed client";
    EXPECT_FALSE(r->degraded) << "the service answered";
  }
  EXPECT_EQ(CountOf(ip), 0u);

  // A revoked token: removed from the file, refused after the reload.
  RewriteCredentials({kNewToken});
  ASSERT_TRUE(WaitForCode(kOldToken, grpc::StatusCode::UNAUTHENTICATED));
  Client::Result revoked = ClientWithToken(kOldToken)->Record(RecordIp(ip));
  EXPECT_EQ(revoked.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::PeekRequest peek;
  *peek.add_subjects() = Client::MakeSubject("login_ip", {{"ip", ip}});
  EXPECT_EQ(ClientWithToken(kNewToken)->Peek(peek).verdicts.at(0).count(), 0u);
}

TEST_F(AuthTest, RotationUnderLoadFailsNoCall) {
  std::atomic<bool> stop{false};
  std::atomic<int> ok_old{0}, ok_new{0}, failed{0}, refused_old{0};
  std::atomic<bool> old_removed{false};
  auto worker = [&](const std::string& token, std::atomic<int>* ok,
                    bool is_old) {
    auto client = ClientWithToken(token);
    while (!stop) {
      Client::Result r = client->Record(RecordIp("198.51.100.77"));
      if (r.status.ok()) {
        ++*ok;
      } else if (is_old && old_removed &&
                 r.status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        ++refused_old;  // Expected once the old hash is gone.
      } else if (!is_old &&
                 r.status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        // The new token before its hash was added: callers roll after.
      } else {
        ++failed;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back(worker, kOldToken, &ok_old, true);

  // 1. Add the new hash beside the old one; 2. roll callers; 3. remove old.
  RewriteCredentials({kOldToken, kNewToken});
  ASSERT_TRUE(WaitForCode(kNewToken, grpc::StatusCode::OK));
  for (int i = 0; i < 3; ++i)
    threads.emplace_back(worker, kNewToken, &ok_new, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // Overlap.
  const int old_during_overlap = ok_old.load();
  old_removed = true;
  RewriteCredentials({kNewToken});
  ASSERT_TRUE(WaitForCode(kOldToken, grpc::StatusCode::UNAUTHENTICATED));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : threads) t.join();

  EXPECT_EQ(failed.load(), 0) << "no call failed other than refusals of the "
                                 "removed token";
  EXPECT_GT(old_during_overlap, 0);
  EXPECT_GT(ok_new.load(), 0);
  EXPECT_GT(refused_old.load(), 0);
  // Every acknowledged Record was counted.
  v1::PeekRequest peek;
  *peek.add_subjects() =
      Client::MakeSubject("login_ip", {{"ip", "198.51.100.77"}});
  EXPECT_EQ(ClientWithToken(kNewToken)->Peek(peek).verdicts.at(0).count(),
            static_cast<uint64_t>(ok_old.load() + ok_new.load()));
}

TEST_F(AuthTest, BrokenCredentialsFileIsRejectedAndTheOldOneStays) {
  const std::string tmp = credentials_ + ".tmp";
  std::ofstream(tmp, std::ios::trunc)
      << "clients: [{id: x, token_sha256: [nothex]}]\n";
  std::rename(tmp.c_str(), credentials_.c_str());
  server_->Signal(SIGHUP);
  // Wait for the rejection to be logged, then check the old token works.
  bool logged = false;
  for (int i = 0; i < 500 && !logged; ++i) {
    logged = server_->stderr_text().find("credentials reload rejected") !=
             std::string::npos;
    if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(logged);
  EXPECT_EQ(CountOf("10.0.0.1"), 0u);  // CountOf uses the old token.
}

}  // namespace
}  // namespace gatehouse::testing
