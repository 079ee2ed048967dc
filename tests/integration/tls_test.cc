// TLS and mTLS on the real server, with certificates made by openssl here.

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "tests/integration/fixture.h"

namespace gatehouse::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.path();
    auto openssl = [&](std::vector<std::string> args) {
      args.insert(args.begin(), "/usr/bin/openssl");
      CommandResult r = RunCommand(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    };
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
             "/CN=test-ca", "-keyout", d + "/ca.key", "-out", d + "/ca.pem"});
    auto issue = [&](const std::string& name, const std::string& san) {
      openssl({"req", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + name,
               "-keyout", d + "/" + name + ".key", "-out",
               d + "/" + name + ".csr"});
      const std::string ext =
          dir_.WriteFile(name + ".ext", "subjectAltName=" + san + "\n");
      openssl({"x509", "-req", "-in", d + "/" + name + ".csr", "-CA",
               d + "/ca.pem", "-CAkey", d + "/ca.key", "-CAcreateserial",
               "-days", "2", "-extfile", ext, "-out", d + "/" + name + ".pem"});
    };
    issue("server", "DNS:localhost,IP:127.0.0.1");
    issue("allowed", "URI:spiffe://gatehouse.test/api");
    issue("other", "URI:spiffe://gatehouse.test/intruder");
    ASSERT_FALSE(HasFatalFailure());

    policies_ = dir_.WriteFile("policies.yaml", kTestPolicies);
    credentials_ =
        dir_.WriteFile("credentials.yaml",
                       "clients:\n  - id: it\n    token_sha256: [" +
                           HexEncode(Sha256(kTestToken)) +
                           "]\n    scopes: [check, peek, record, reset]\n");
    key_ = dir_.WriteFile("pseudonym.key", kTestPseudonymKey);
  }

  std::vector<std::string> ServerFlags() {
    const std::string d = dir_.path();
    return {"--data_dir=" + d + "/data",
            "--policies=" + policies_,
            "--credentials=" + credentials_,
            "--pseudonym_key_file=" + key_,
            "--tls_cert_file=" + d + "/server.pem",
            "--tls_key_file=" + d + "/server.key",
            "--tls_client_ca_file=" + d + "/ca.pem",
            "--tls_client_allowlist=spiffe://gatehouse.test/api",
            "--shutdown_grace=200ms"};
  }

  std::unique_ptr<Client> ClientWith(const ServerProcess& server,
                                     const std::string& cert_name,
                                     const std::string& token = kTestToken) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = Slurp(dir_.path() + "/ca.pem");
    if (!cert_name.empty()) {
      ssl.pem_private_key = Slurp(dir_.path() + "/" + cert_name + ".key");
      ssl.pem_cert_chain = Slurp(dir_.path() + "/" + cert_name + ".pem");
    }
    ClientOptions options;
    options.target = "localhost:" + std::to_string(server.port());
    options.token = token;
    options.deadline = absl::Seconds(5);
    options.failure_mode = FailureMode::kFailClosed;
    options.channel_credentials = grpc::SslCredentials(ssl);
    return Client::Create(options);
  }

  static Client::Result PeekOnce(const Client& client) {
    v1::PeekRequest peek;
    *peek.add_subjects() =
        Client::MakeSubject("login_ip", {{"ip", "10.0.0.1"}});
    return client.Peek(peek);
  }

  TempDir dir_;
  std::string policies_, credentials_, key_;
};

TEST_F(TlsTest, AllowedClientCertificateIsServedOthersAreRefused) {
  ServerProcess server(ServerFlags());
  ASSERT_TRUE(server.Start()) << server.stderr_text();

  Client::Result allowed = PeekOnce(*ClientWith(server, "allowed"));
  EXPECT_TRUE(allowed.status.ok()) << allowed.status.error_message();
  EXPECT_TRUE(allowed.allowed);

  // The allowed certificate with an unknown token: refused on the call's
  // HEADERS (service/grpc/token_gate.h), over TLS as over plaintext.
  Client::Result unknown_token = PeekOnce(
      *ClientWith(server, "allowed", "unknown-token-Rz4Kq8Wm2Xp6Lc1Vb9Nd3Hf7"));
  EXPECT_EQ(unknown_token.status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED)
      << unknown_token.status.error_message();

  // A valid certificate from the same CA, but not on the allowlist.
  Client::Result other = PeekOnce(*ClientWith(server, "other"));
  EXPECT_EQ(other.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << other.status.error_message();
  EXPECT_FALSE(other.allowed);

  // No client certificate: the handshake fails.
  Client::Result anonymous = PeekOnce(*ClientWith(server, ""));
  EXPECT_EQ(anonymous.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(anonymous.degraded);

  // Plaintext to a TLS port fails too.
  ClientOptions plain;
  plain.target = server.address();
  plain.token = kTestToken;
  plain.deadline = absl::Seconds(5);
  Client::Result plaintext = PeekOnce(*Client::Create(plain));
  EXPECT_EQ(plaintext.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, WildcardAllowlistEntryIsRefusedAtStartup) {
  std::vector<std::string> flags = ServerFlags();
  flags.push_back("--tls_client_allowlist=spiffe://gatehouse.test/*");
  flags.insert(flags.begin(), {GATEHOUSE_BIN, "--listen=127.0.0.1:0",
                               "--metrics_listen=127.0.0.1:0"});
  CommandResult r = RunCommand(flags);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("wildcards are not accepted"), std::string::npos)
      << r.err;
}

TEST_F(TlsTest, PlaintextOffLoopbackNeedsAllowPlaintextAndWarns) {
  const std::vector<std::string> base = {GATEHOUSE_BIN,
                                         "--listen=0.0.0.0:0",
                                         "--metrics_listen=127.0.0.1:0",
                                         "--data_dir=" + dir_.path() + "/d",
                                         "--policies=" + policies_,
                                         "--credentials=" + credentials_,
                                         "--pseudonym_key_file=" + key_};
  CommandResult refused = RunCommand(base);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("--allow_plaintext"), std::string::npos)
      << refused.err;

  ServerProcess warned(
      {"--listen=0.0.0.0:0", "--data_dir=" + dir_.path() + "/e",
       "--policies=" + policies_, "--credentials=" + credentials_,
       "--pseudonym_key_file=" + key_, "--allow_plaintext"});
  ASSERT_TRUE(warned.Start()) << warned.stderr_text();
  EXPECT_NE(warned.stderr_text().find("PLAINTEXT"), std::string::npos);
}

}  // namespace
}  // namespace gatehouse::testing
