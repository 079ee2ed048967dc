#include "bench/workload.h"

#include "absl/strings/str_cat.h"

namespace gatehouse::bench {
namespace {

constexpr char kLoginIp[] = "login_ip";
constexpr char kFailedUserIp[] = "failed_auth_user_ip";
constexpr char kFailedIp[] = "failed_auth_ip";

SubjectSpec Ip(const char* policy, uint64_t k) {
  return SubjectSpec{policy, {{"ip", IpOf(k)}}};
}

SubjectSpec UserIp(uint64_t k) {
  return SubjectSpec{kFailedUserIp, {{"user", UserOf(k)}, {"ip", IpOf(k)}}};
}

}  // namespace

const char* OpName(Op op) {
  switch (op) {
    case Op::kHealth:
      return "Health";
    case Op::kCheck:
      return "Check";
    case Op::kPeek:
      return "Peek";
    case Op::kRecord:
      return "Record";
    case Op::kReset:
      return "Reset";
    case Op::kShouldRateLimit:
      return "ShouldRateLimit";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<Workload>> Workload::Create(
    const WorkloadOptions& options) {
  static const char* const kScenarios[] = {
      "health",      "peek_hot", "check_ips",    "record_users", "signin",
      "check_batch", "botnet",   "signin_unary", "envoy_ips"};
  for (const char* s : kScenarios) {
    if (options.scenario == s) {
      if (options.keys < 1 || options.keys > (uint64_t{1} << 24)) {
        return absl::InvalidArgumentError("--keys: 1..16777216");
      }
      if (options.batch < 1 || options.batch > 64) {
        return absl::InvalidArgumentError("--batch: 1..64 subjects");
      }
      return std::unique_ptr<Workload>(new Workload(options));
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--scenario: unknown scenario \"", options.scenario, "\""));
}

Workload::Workload(const WorkloadOptions& options)
    : options_(options),
      keys_(options.keys, options.distribution, options.zipf_s) {}

// Each scenario draws from its own range of IPs and users, so one leaves
// no state (counts, lockouts) in the keys of the next.
uint64_t Workload::Draw(std::mt19937_64& rng) {
  static const char* const kOrder[] = {
      "peek_hot",    "check_ips", "record_users", "signin",
      "check_batch", "botnet",    "envoy_ips"};
  uint64_t base = 0;
  for (uint64_t i = 0; i < 7; ++i) {
    if (options_.scenario == kOrder[i]) base = i << 24;
  }
  return base + keys_.Draw(rng);
}

CallSpec Workload::Next(SlotState& slot, std::mt19937_64& rng) {
  CallSpec call;
  const std::string& s = options_.scenario;
  if (s == "health") {
    call.op = Op::kHealth;
  } else if (s == "peek_hot") {
    call.op = Op::kPeek;
    call.subjects.push_back(UserIp(Draw(rng)));
  } else if (s == "check_ips") {
    call.op = Op::kCheck;
    call.subjects.push_back(Ip(kLoginIp, Draw(rng)));
  } else if (s == "envoy_ips") {
    call.op = Op::kShouldRateLimit;
    call.subjects.push_back(Ip(kLoginIp, Draw(rng)));
  } else if (s == "record_users") {
    call.op = Op::kRecord;
    call.subjects.push_back(UserIp(Draw(rng)));
  } else if (s == "check_batch") {
    call.op = Op::kCheck;
    for (int i = 0; i < options_.batch; ++i) {
      call.subjects.push_back(Ip(kLoginIp, Draw(rng)));
    }
  } else if (s == "botnet") {
    // Spread over 2^28 addresses (an odd multiplier permutes them), not a
    // dense block: sorted dense keys would compress unrealistically well.
    call.op = Op::kRecord;
    const uint64_t k = keys_.Draw(rng);
    call.subjects.push_back(
        Ip(kFailedIp, (k * 0x9E3779B1ull) & ((uint64_t{1} << 28) - 1)));
  } else if (s == "signin_unary") {
    // The README's flow, one decision per call.
    if (slot.stage == 0) {
      slot.key = Draw(rng);
      call.op = Op::kPeek;
      call.subjects.push_back(UserIp(slot.key));
    } else if (slot.stage == 1) {
      call.op = Op::kCheck;
      call.subjects.push_back(Ip(kLoginIp, slot.key));
    } else {
      const bool failed = std::uniform_real_distribution<double>(0, 1)(rng) <
                          options_.failure_rate;
      call.op = failed ? Op::kRecord : Op::kReset;
      call.subjects.push_back(UserIp(slot.key));
    }
    slot.stage = (slot.stage + 1) % 3;
  } else if (s == "signin") {
    if (slot.stage == 0) {
      slot.key = Draw(rng);
      call.op = Op::kPeek;
      call.subjects.push_back(Ip(kLoginIp, slot.key));
      call.subjects.push_back(UserIp(slot.key));
      slot.stage = 1;
    } else {
      const bool failed = std::uniform_real_distribution<double>(0, 1)(rng) <
                          options_.failure_rate;
      call.op = failed ? Op::kRecord : Op::kReset;
      call.subjects.push_back(UserIp(slot.key));
      slot.stage = 0;
    }
  }
  return call;
}

RedisPolicy RedisPolicyOf(absl::string_view policy) {
  if (policy == kLoginIp) return {20, 60ull * 1000000};
  if (policy == kFailedUserIp) return {5, 15ull * 60 * 1000000};
  return {100, 3600ull * 1000000};  // failed_auth_ip
}

}  // namespace gatehouse::bench
