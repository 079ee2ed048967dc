// Fuzzes request validation, key derivation and the Limiter's decisions:
// the input is decoded into a short sequence of operations (Check, Peek,
// Record, Reset), each after a clock step, on requests built mostly from
// the fixed policies' names and dimensions and interesting values, and
// partly from raw bytes. Invariants:
//
//   - no crash; every answer is OK, INVALID_ARGUMENT or NOT_FOUND;
//   - a subject whose policy is unknown or whose key DeriveStorageKey
//     rejects makes the whole request fail;
//   - a rejected request and a Peek change no counter;
//   - an OK response has one verdict per subject, with remaining <= limit;
//   - DeriveStorageKey is deterministic, and after an OK Record every
//     subject's key is in the store: the Limiter stores under the key
//     DeriveStorageKey gives, nothing else.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/clock/simulated_clock.h"
#include "service/config/policy_file.h"
#include "service/core/in_memory_counter_store.h"
#include "service/core/limiter.h"
#include "service/core/request.h"
#include "service/core/subject_key.h"
#include "tests/fuzz/fuzz_util.h"

namespace gatehouse {
namespace {

constexpr char kPolicies[] = R"yaml(
policies:
  - name: login_ip
    dimensions: [ip]
    limit: 5
    window: 1m
    buckets: 6
  - name: failed_auth_user_ip
    dimensions: [user, ip]
    limit: 3
    window: 15m
    lockout: {duration: 1m, multiplier: 2, max: 1h, forget_after: 2h}
  - name: api_user
    dimensions: [user]
    limit: 1000
    window: 1h
    buckets: 1
  - name: shadow_client_ip
    dimensions: [client_ip]
    limit: 2
    window: 10s
    mode: shadow
  - name: device
    dimensions: [device, tenant, user]
    limit: 2
    window: 400d
    buckets: 3600
    lockout: {duration: 1s, max: 1h}
)yaml";

constexpr const char* kPolicyNames[] = {"login_ip", "failed_auth_user_ip",
                                        "api_user", "shadow_client_ip",
                                        "device",   "",
                                        "unknown",  "LOGIN_IP"};
constexpr const char* kDimensions[] = {
    "ip", "user", "client_ip", "device", "tenant", "", "IP", "other_ip"};
constexpr const char* kValues[] = {
    "203.0.113.7",
    "::ffff:203.0.113.7",
    "::FFFF:cb00:7107",
    "2001:DB8:0:0:0:0:0:1",
    "2001:db8::1",
    "fe80::1%eth0",
    "0.0.0.0",
    "255.255.255.255",
    "1.2.3",
    "01.2.3.4",
    "alice@example.com",
    "Alice@Example.com",
    "",
    " ",
    "bob\tsmith",
    "caf\xc3\xa9",
    "\xc3\x28",
    "\xed\xa0\x80",
    "\xc2\x85",
    "\x7f",
};
constexpr uint64_t kHits[] = {0,   1,         2,         5,
                              999, 1'000'000, 1'000'001, UINT64_MAX};

const std::shared_ptr<const PolicySet>& Policies() {
  static const auto* const policies = [] {
    auto parsed = ParsePolicyYaml(kPolicies, "fuzz policies");
    FUZZ_CHECK(parsed.ok(), parsed.status().ToString());
    return new std::shared_ptr<const PolicySet>(*std::move(parsed));
  }();
  return *policies;
}

std::string Name(fuzz::FuzzInput& in, const char* const* pool,
                 size_t pool_size) {
  const uint8_t b = in.Byte();
  if (b < 240) return pool[b % pool_size];
  return in.String(80);
}

std::string Value(fuzz::FuzzInput& in) {
  const uint8_t b = in.Byte();
  if (b < 160) return kValues[b % std::size(kValues)];
  if (b < 250) return in.String(255);
  // 317..322 bytes: either side of the 320-byte limit.
  return std::string(kMaxDimensionValueBytes - 3 + (b - 250), 'v');
}

Request DecodeRequest(fuzz::FuzzInput& in) {
  Request request;
  const uint8_t n = in.Byte();
  // Mostly a few subjects; sometimes at or past the maximum.
  const size_t subjects = n < 250 ? n % 5 : kMaxSubjects + (n % 3) - 1;
  for (size_t i = 0; i < subjects; ++i) {
    SubjectRequest s;
    s.policy = Name(in, kPolicyNames, std::size(kPolicyNames));
    const size_t dims = in.Byte() % 4;
    for (size_t d = 0; d < dims; ++d) {
      s.key[Name(in, kDimensions, std::size(kDimensions))] = Value(in);
    }
    s.hits = in.Bool() ? in.Pick(kHits) : in.Byte();
    request.subjects.push_back(std::move(s));
  }
  const size_t context = in.Byte() % 4;
  for (size_t i = 0; i < context; ++i) {
    request.context[in.String(70)] = in.String(255);
  }
  return request;
}

// Every state under `keys`, and how many there are in all.
struct Snapshot {
  std::map<std::string, std::optional<CounterState>> states;
  size_t size = 0;

  bool operator==(const Snapshot& o) const {
    return size == o.size && states == o.states;
  }
};

Snapshot Take(InMemoryCounterStore& store, const std::set<std::string>& keys) {
  Snapshot snapshot;
  snapshot.size = store.size();
  for (const std::string& key : keys) {
    auto state = store.Read(key);
    FUZZ_CHECK(state.ok(), state.status().ToString());
    snapshot.states[key] = *state;
  }
  return snapshot;
}

void RunOne(Limiter& limiter, InMemoryCounterStore& store,
            std::set<std::string>& keys, Operation op, const Request& request) {
  const PolicySet& policies = *Policies();
  // What key derivation says, subject by subject.
  bool every_subject_resolves = true;
  std::vector<std::string> subject_keys;
  for (size_t i = 0; i < request.subjects.size(); ++i) {
    const SubjectRequest& s = request.subjects[i];
    const Policy* policy = policies.Find(s.policy);
    if (policy == nullptr) {
      every_subject_resolves = false;
      continue;
    }
    const std::string field = absl::StrCat("subjects[", i, "].key");
    const auto key = DeriveStorageKey(*policy, s.key, field);
    const auto again = DeriveStorageKey(*policy, s.key, field);
    FUZZ_CHECK(key.status() == again.status(), key.status().ToString());
    if (!key.ok()) {
      FUZZ_CHECK(key.status().code() == absl::StatusCode::kInvalidArgument,
                 key.status().ToString());
      FUZZ_CHECK(absl::StartsWith(key.status().message(), field),
                 key.status().ToString());
      every_subject_resolves = false;
      continue;
    }
    FUZZ_CHECK(*key == *again, "DeriveStorageKey is not deterministic");
    FUZZ_CHECK(IsCounterKey(*key), "not a counter key");
    subject_keys.push_back(*key);
    keys.insert(*key);
  }

  const Snapshot before = Take(store, keys);
  const absl::StatusOr<Response> response = limiter.Run(op, request);
  if (!response.ok()) {
    const absl::StatusCode code = response.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                   code == absl::StatusCode::kNotFound,
               response.status().ToString());
    FUZZ_CHECK(Take(store, keys) == before,
               "a rejected request changed the store: " +
                   response.status().ToString());
    return;
  }
  FUZZ_CHECK(every_subject_resolves,
             "accepted a subject whose policy or key does not resolve");
  FUZZ_CHECK(
      !request.subjects.empty() && request.subjects.size() <= kMaxSubjects,
      absl::StrCat(request.subjects.size(), " subjects accepted"));
  FUZZ_CHECK(response->verdicts.size() == request.subjects.size(),
             absl::StrCat(response->verdicts.size(), " verdicts for ",
                          request.subjects.size(), " subjects"));
  bool all_allowed = true;
  for (size_t i = 0; i < response->verdicts.size(); ++i) {
    const Verdict& v = response->verdicts[i];
    FUZZ_CHECK(v.policy == request.subjects[i].policy, v.policy);
    FUZZ_CHECK(v.remaining <= v.limit, v.policy);
    FUZZ_CHECK(v.retry_after >= absl::ZeroDuration() &&
                   v.reset_after >= absl::ZeroDuration(),
               v.policy);
    FUZZ_CHECK(!v.shadow || v.decision == Decision::kAllow, v.policy);
    all_allowed = all_allowed && v.decision == Decision::kAllow;
  }
  FUZZ_CHECK(response->allowed == all_allowed, "allowed disagrees");
  if (op == Operation::kPeek) {
    FUZZ_CHECK(Take(store, keys) == before, "Peek changed the store");
  }
  if (op == Operation::kRecord) {
    for (const std::string& key : subject_keys) {
      auto state = store.Read(key);
      FUZZ_CHECK(state.ok() && state->has_value(),
                 "Record stored under another key than DeriveStorageKey's");
    }
  }
}

}  // namespace
}  // namespace gatehouse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gatehouse;
  fuzz::FuzzInput in(data, size);
  SimulatedClock clock;
  InMemoryCounterStore store;
  Limiter limiter(&clock, &store, Policies());
  std::set<std::string> keys;
  const int operations = 1 + in.Byte() % 8;
  for (int i = 0; i < operations && !in.empty(); ++i) {
    const Operation op = static_cast<Operation>(in.Byte() % 4);
    // No step, or from 80 ms to about two days.
    const uint8_t step = in.Byte();
    const int64_t k = step < 128 ? 0 : step - 127;
    clock.Advance(absl::Milliseconds(k * k * k * 80));
    RunOne(limiter, store, keys, op, DecodeRequest(in));
  }
  return 0;
}
