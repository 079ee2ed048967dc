#include "service/grpc/envoy_rls_plan.h"

#include <algorithm>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/audit/proto_time.h"

namespace gatehouse {
namespace {

namespace rls = envoy::service::ratelimit::v3;

constexpr size_t kMaxDomainBytes = 256;
constexpr size_t kMaxEntries = 64;

uint32_t Clamp32(uint64_t v) {
  return static_cast<uint32_t>(
      std::min<uint64_t>(v, std::numeric_limits<uint32_t>::max()));
}

// Whole seconds, rounded up (a client must not come back early).
int64_t CeilSeconds(absl::Duration d) {
  return absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
}

rls::RateLimitResponse::RateLimit::Unit UnitOf(absl::Duration window) {
  using Unit = rls::RateLimitResponse::RateLimit;
  if (window == absl::Seconds(1)) return Unit::SECOND;
  if (window == absl::Minutes(1)) return Unit::MINUTE;
  if (window == absl::Hours(1)) return Unit::HOUR;
  if (window == absl::Hours(24)) return Unit::DAY;
  if (window == absl::Hours(24 * 7)) return Unit::WEEK;
  return Unit::UNKNOWN;
}

void AddHeader(const std::string& key, const std::string& value,
               rls::RateLimitResponse* out) {
  auto* h = out->add_response_headers_to_add();
  h->set_key(key);
  h->set_value(value);
}

}  // namespace

absl::StatusOr<RlsPlan> PlanRateLimit(const rls::RateLimitRequest& request,
                                      const PolicySet& policies) {
  if (request.domain().empty()) {
    return absl::InvalidArgumentError("domain: required");
  }
  if (request.domain().size() > kMaxDomainBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("domain: ", request.domain().size(), " bytes, at most ",
                     kMaxDomainBytes));
  }
  if (request.descriptors().empty()) {
    return absl::InvalidArgumentError(
        "descriptors: at least one descriptor is required");
  }
  if (static_cast<size_t>(request.descriptors_size()) > kMaxSubjects) {
    return absl::InvalidArgumentError(
        absl::StrCat("descriptors: ", request.descriptors_size(),
                     " descriptors, at most ", kMaxSubjects));
  }
  if (request.hits_addend() > kMaxHits) {
    return absl::InvalidArgumentError(
        absl::StrCat("hits_addend: ", request.hits_addend(),
                     " is more than the maximum ", kMaxHits));
  }
  const uint64_t default_hits =
      request.hits_addend() == 0 ? 1 : request.hits_addend();

  RlsPlan plan;
  plan.check.rpc = plan.peek.rpc = kShouldRateLimit;
  plan.check.context = plan.peek.context = {{"domain", request.domain()}};
  plan.slots.resize(request.descriptors_size());
  EnvoyEntries entries;
  for (int i = 0; i < request.descriptors_size(); ++i) {
    const auto& d = request.descriptors(i);
    const std::string field = absl::StrCat("descriptors[", i, "]");
    if (d.entries().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".entries: at least one entry is required"));
    }
    if (static_cast<size_t>(d.entries_size()) > kMaxEntries) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".entries: ", d.entries_size(),
                       " entries, at most ", kMaxEntries));
    }
    entries.clear();
    for (int j = 0; j < d.entries_size(); ++j) {
      if (d.entries(j).key().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".entries[", j, "].key: required"));
      }
      entries.emplace_back(d.entries(j).key(), d.entries(j).value());
    }
    uint64_t hits = default_hits;
    if (d.has_hits_addend()) {
      hits = d.hits_addend().value();
      if (hits > kMaxHits) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".hits_addend: ", hits,
                         " is more than the maximum ", kMaxHits));
      }
    }
    const Operation op = hits == 0 ? Operation::kPeek : Operation::kCheck;
    (hits == 0 ? plan.wants_peek : plan.wants_check) = true;
    std::optional<EnvoyMatch> match =
        policies.envoy().Find(request.domain(), entries);
    if (!match.has_value()) {
      ++plan.unmatched;
      continue;
    }
    Request& target = op == Operation::kPeek ? plan.peek : plan.check;
    plan.slots[i] = RlsPlan::Slot{op, target.subjects.size()};
    SubjectRequest subject;
    subject.policy = std::move(match->policy);
    subject.key = std::move(match->key);
    subject.hits = hits;
    subject.field = field;
    for (const auto& [dimension, entry] : match->entry_of) {
      subject.value_fields[dimension] =
          absl::StrCat(field, ".entries[", entry, "].value");
    }
    target.subjects.push_back(std::move(subject));
  }
  return plan;
}

void BuildRateLimitResponse(const RlsPlan& plan, const Response* check,
                            const Response* peek, rls::RateLimitResponse* out) {
  bool over = false;
  absl::Duration retry_after = absl::ZeroDuration();
  std::vector<std::string> policy_fields;
  std::vector<std::string> limit_fields;
  std::set<std::string> named;
  out->mutable_statuses()->Reserve(static_cast<int>(plan.slots.size()));
  for (const std::optional<RlsPlan::Slot>& slot : plan.slots) {
    auto* status = out->add_statuses();
    const Response* from = !slot.has_value()              ? nullptr
                           : slot->op == Operation::kPeek ? peek
                                                          : check;
    if (from == nullptr) {
      status->set_code(rls::RateLimitResponse::OK);
      continue;
    }
    const Verdict& v = from->verdicts[slot->subject];
    const bool denied = v.decision == Decision::kDeny;
    status->set_code(denied ? rls::RateLimitResponse::OVER_LIMIT
                            : rls::RateLimitResponse::OK);
    auto* limit = status->mutable_current_limit();
    limit->set_name(v.policy);
    limit->set_requests_per_unit(Clamp32(v.limit));
    limit->set_unit(UnitOf(v.window));
    status->set_limit_remaining(Clamp32(v.remaining));
    const absl::Duration until_reset = denied ? v.retry_after : v.reset_after;
    SetDuration(until_reset, status->mutable_duration_until_reset());
    if (denied) {
      over = true;
      retry_after = std::max(retry_after, v.retry_after);
    }
    if (named.insert(v.policy).second) {
      policy_fields.push_back(absl::StrCat("\"", v.policy, "\";q=", v.limit,
                                           ";w=", CeilSeconds(v.window)));
      limit_fields.push_back(absl::StrCat("\"", v.policy, "\";r=", v.remaining,
                                          ";t=", CeilSeconds(until_reset)));
    }
  }
  out->set_overall_code(over ? rls::RateLimitResponse::OVER_LIMIT
                             : rls::RateLimitResponse::OK);
  if (!policy_fields.empty()) {
    AddHeader("RateLimit-Policy", absl::StrJoin(policy_fields, ", "), out);
    AddHeader("RateLimit", absl::StrJoin(limit_fields, ", "), out);
  }
  if (over) {
    AddHeader("Retry-After",
              absl::StrCat(std::max<int64_t>(1, CeilSeconds(retry_after))),
              out);
  }
}

}  // namespace gatehouse
