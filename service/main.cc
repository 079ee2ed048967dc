// gatehouse: the rate limiter and audit server. Flags and wiring only.

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "service/auth/authenticator.h"
#include "service/clock/real_clock.h"
#include "service/config/policy_file.h"
#include "service/core/limiter.h"
#include "service/grpc/rate_limiter_service.h"
#include "service/storage/rocksdb_counter_store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address HOST:PORT; port 0 picks a free port (see "
          "--port_file)");
ABSL_FLAG(
    std::string, port_file, "",
    "After start-up, write the bound gRPC port to this file (atomically)");
ABSL_FLAG(std::string, data_dir, "./data", "Directory of the RocksDB state");
ABSL_FLAG(std::string, policies, "", "Policy file (YAML); required");
ABSL_FLAG(std::string, credentials, "",
          "Credentials file (YAML): clients, token hashes, scopes");
ABSL_FLAG(bool, allow_unauthenticated, false,
          "Serve without --credentials; only accepted on a loopback address");
ABSL_FLAG(bool, sync_writes, false,
          "fsync every commit (survives power loss, slower)");
ABSL_FLAG(int, block_cache_mb, 64, "RocksDB block cache size in MiB");
ABSL_FLAG(
    absl::Duration, shutdown_grace, absl::Seconds(2),
    "On SIGTERM, how long in-flight calls may finish before cancellation");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error");

namespace gatehouse {
namespace {

int Fail(const absl::Status& status) {
  spdlog::critical("{}", status.ToString());
  return 1;
}

bool IsLoopback(const std::string& listen) {
  return absl::StartsWith(listen, "127.") ||
         absl::StartsWith(listen, "localhost:") ||
         absl::StartsWith(listen, "[::1]:");
}

absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) {
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename to ", path));
  }
  return absl::OkStatus();
}

int Run() {
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string policies_path = absl::GetFlag(FLAGS_policies);
  const std::string credentials_path = absl::GetFlag(FLAGS_credentials);
  if (policies_path.empty()) {
    return Fail(
        absl::InvalidArgumentError("--policies: a policy file is required"));
  }
  absl::StatusOr<std::shared_ptr<const PolicySet>> policies =
      LoadPolicyFile(policies_path);
  if (!policies.ok()) return Fail(policies.status());

  std::unique_ptr<Authenticator> authenticator;
  if (!credentials_path.empty()) {
    absl::StatusOr<std::shared_ptr<const Credentials>> credentials =
        Credentials::Load(credentials_path);
    if (!credentials.ok()) return Fail(credentials.status());
    authenticator = std::make_unique<Authenticator>(*credentials);
  } else if (!absl::GetFlag(FLAGS_allow_unauthenticated)) {
    return Fail(absl::InvalidArgumentError(
        "--credentials: required (or --allow_unauthenticated on loopback)"));
  } else if (!IsLoopback(listen)) {
    return Fail(absl::InvalidArgumentError(
        "--allow_unauthenticated: only accepted on a loopback --listen"));
  } else {
    spdlog::warn("serving WITHOUT authentication (--allow_unauthenticated)");
  }

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Fail(absl::UnavailableError(absl::StrCat(
        "--data_dir: cannot create ", data_dir, ": ", ec.message())));
  }
  RocksDbStoreOptions store_options;
  store_options.sync = absl::GetFlag(FLAGS_sync_writes);
  store_options.block_cache_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> store =
      RocksDbCounterStore::Open(data_dir, RealClock::Get(), store_options);
  if (!store.ok()) return Fail(store.status());

  Limiter limiter(RealClock::Get(), store->get(), *policies);
  RateLimiterService service(&limiter, authenticator.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(1 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::UnavailableError(
        absl::StrCat("--listen: cannot listen on ", listen)));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file);
      !port_file.empty()) {
    absl::Status written = WritePortFile(port_file, port);
    if (!written.ok()) return Fail(written);
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  spdlog::info("gatehouse listening on {}:{} ({} policies, data in {})", host,
               port, (*policies)->all().size(), data_dir);

  // Signals are blocked in every thread (see main) and taken here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      absl::StatusOr<std::shared_ptr<const PolicySet>> reloaded =
          LoadPolicyFile(policies_path);
      if (reloaded.ok()) {
        limiter.SetPolicies(*reloaded);
        spdlog::info("policies reloaded: {} policies",
                     (*reloaded)->all().size());
      } else {
        spdlog::error("policy reload rejected, keeping the old policies: {}",
                      reloaded.status().ToString());
      }
      if (authenticator != nullptr) {
        absl::StatusOr<std::shared_ptr<const Credentials>> credentials =
            Credentials::Load(credentials_path);
        if (credentials.ok()) {
          authenticator->SetCredentials(*credentials);
          spdlog::info("credentials reloaded");
        } else {
          spdlog::error("credentials reload rejected, keeping the old ones: {}",
                        credentials.status().ToString());
        }
      }
      continue;
    }
    spdlog::info("signal {}: shutting down", sig);
    break;
  }
  server->GetHealthCheckService()->SetServingStatus(false);
  // In-flight calls get the grace period, then are cancelled. gRPC also
  // waits out the grace while idle client connections are open.
  server->Shutdown(
      std::chrono::system_clock::now() +
      absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_shutdown_grace)));
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace gatehouse

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gatehouse --policies=FILE --credentials=FILE [--listen=HOST:PORT] "
      "[--data_dir=DIR] [--port_file=FILE]");
  absl::ParseCommandLine(argc, argv);
  // Logs go to stderr; stdout stays free for tools.
  spdlog::set_default_logger(spdlog::stderr_color_mt("gatehouse"));
  spdlog::set_level(spdlog::level::from_str(absl::GetFlag(FLAGS_log_level)));
  // Block the signals before any thread starts so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return gatehouse::Run();
}
