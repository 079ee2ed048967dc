#ifndef GATEHOUSE_BENCH_WORKLOAD_H_
#define GATEHOUSE_BENCH_WORKLOAD_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/key_space.h"

namespace gatehouse::bench {

// kShouldRateLimit: envoy.service.ratelimit.v3 ShouldRateLimit, one
// descriptor per subject (domain "bench", generic_key login and
// remote_address); gatehouse only.
enum class Op { kHealth, kCheck, kPeek, kRecord, kReset, kShouldRateLimit };
const char* OpName(Op op);

// One subject of a call: a policy of bench/policies.yaml and its dimension
// values, in the policy's dimension order.
struct SubjectSpec {
  std::string policy;
  std::vector<std::pair<std::string, std::string>> key;
};

// One call, whatever the transport carries it as.
struct CallSpec {
  Op op = Op::kHealth;
  std::vector<SubjectSpec> subjects;
};

// What a load slot remembers between the calls of a multi-call flow.
struct SlotState {
  int stage = 0;
  uint64_t key = 0;
};

struct WorkloadOptions {
  std::string scenario;
  uint64_t keys = 100000;
  Distribution distribution = Distribution::kUniform;
  double zipf_s = 0.99;
  int batch = 16;             // Subjects per call of check_batch.
  double failure_rate = 0.1;  // Sign-ins that fail (signin).
};

// Generates the calls of one scenario:
//   health        grpc.health.v1.Health/Check (Redis: PING), the floor
//   peek_hot      Peek failed_auth_user_ip {user, ip} over a few hot keys
//   check_ips     Check login_ip {ip}
//   envoy_ips     the same decisions through Envoy's ShouldRateLimit
//   record_users  Record failed_auth_user_ip {user, ip} (skew it with zipf)
//   signin        Peek {login_ip, failed_auth_user_ip}, then Record on
//                 failure_rate of them and Reset on the rest
//   check_batch   Check with `batch` login_ip subjects
//   botnet        Record failed_auth_ip {ip}, one per key (dist seq)
//   signin_unary  the README's flow, one decision per call: Peek
//                 failed_auth_user_ip, Check login_ip, then Record (on
//                 failure_rate of them) or Reset failed_auth_user_ip
//
// Thread-safe: Next() is called from every load thread with its own rng.
class Workload {
 public:
  static absl::StatusOr<std::unique_ptr<Workload>> Create(
      const WorkloadOptions& options);

  // The next call of a slot; advances the slot's flow.
  CallSpec Next(SlotState& slot, std::mt19937_64& rng);
  // True once a sequential key space has handed out every key.
  bool Exhausted() const { return keys_.Exhausted(); }

 private:
  explicit Workload(const WorkloadOptions& options);
  uint64_t Draw(std::mt19937_64& rng);

  const WorkloadOptions options_;
  KeySpace keys_;
};

// The limit and window (microseconds) the Redis script applies per policy:
// the same as bench/policies.yaml (Redis has no lockout).
struct RedisPolicy {
  uint64_t limit;
  uint64_t window_us;
};
RedisPolicy RedisPolicyOf(absl::string_view policy);

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_WORKLOAD_H_
