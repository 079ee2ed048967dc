// The lockout index's paging claim (issue 19): with 10M counters, a page of
// ListLockouts still answers in milliseconds. bench/run.sh --only lockouts:
//
//   --build_data_dir=DIR  writes --counters counter states straight through
//                         OpenRocksDbStore's counter store (commits of
//                         --commit_puts puts), --lockouts of them locked out
//                         with LockoutChange puts, across the two policies
//                         login_ip and failed_auth_user_ip of
//                         bench/policies.yaml; then times the store's own
//                         ListLockouts pages (the in-process baseline).
//   --time_data_dir=DIR   opens that (stopped) data dir, compacts it first
//                         with --compact (the index then read from SST
//                         files, not the memtable), and times the store's
//                         pages again.
//   --addr=HOST:PORT      times gatehouse.v1.Admin/ListLockouts pages
//                         against a server started on that data.
//
// Pages timed, --samples times each (after a first, cold call reported on
// its own): the first page, a page deep in (half
// of the lockouts before it, reached by following page tokens), and both
// filtered by one policy; plus a walk over every page. One JSON line per
// measurement (bench/report.h) to --out.

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "bench/report.h"
#include "gatehouse/v1/admin.grpc.pb.h"
#include "service/clock/real_clock.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"
#include "service/core/lockout_index.h"
#include "service/core/policy.h"
#include "service/core/subject_key.h"
#include "service/storage/rocksdb_store.h"

ABSL_FLAG(std::string, build_data_dir, "",
          "Write the data set into this (new) data dir, then time the "
          "store's own pages");
ABSL_FLAG(uint64_t, counters, 10'000'000, "Counter states to write");
ABSL_FLAG(uint64_t, lockouts, 10'000, "Of them locked out (indexed)");
ABSL_FLAG(uint64_t, commit_puts, 4096, "Puts per commit");
ABSL_FLAG(std::string, time_data_dir, "",
          "Open this (stopped) data dir and time the store's own pages");
ABSL_FLAG(bool, compact, false,
          "With --time_data_dir: compact every family first (timed)");
ABSL_FLAG(std::string, addr, "",
          "Time Admin/ListLockouts on the gatehouse at HOST:PORT");
ABSL_FLAG(std::string, token_file, "", "Bearer token with the admin scope");
ABSL_FLAG(uint32_t, page_size, 100, "Lockouts per page");
ABSL_FLAG(int, samples, 1000,
          "Calls timed per kind of page (after a first, cold one)");
ABSL_FLAG(std::string, label, "lockouts", "Prefix of the JSON lines' labels");
ABSL_FLAG(std::string, out, "", "Append the JSON lines to this file");

namespace gatehouse::bench {
namespace {

constexpr char kIpPolicy[] = "login_ip";
constexpr char kUserIpPolicy[] = "failed_auth_user_ip";

int Fail(const absl::Status& status) {
  std::cerr << "gatehouse_lockout_bench: " << status << "\n";
  return 1;
}

absl::Status Append(const std::string& line) {
  std::cout << line << std::endl;
  const std::string path = absl::GetFlag(FLAGS_out);
  if (path.empty()) return absl::OkStatus();
  std::ofstream out(path, std::ios::app);
  out << line << "\n";
  if (!out.flush()) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

// One page fetch: the page's entry count and its next position (a token or
// an order key, whatever the next call takes), or an error.
struct Fetched {
  size_t entries = 0;
  std::string next;
};
using FetchPage = std::function<absl::StatusOr<Fetched>(
    const std::string& policy, const std::string& after)>;

// Times `samples` fetches of each kind of page and a walk over all pages;
// one JSON line per kind, labelled <label>_<kind>.
absl::Status TimePages(const std::string& label, const FetchPage& fetch,
                       uint64_t lockouts) {
  const int samples = absl::GetFlag(FLAGS_samples);
  if (samples < 1) return absl::InvalidArgumentError("--samples: at least 1");
  const uint32_t page_size = absl::GetFlag(FLAGS_page_size);
  // The position half-way through (every policy's) lockouts, reached by
  // following `next` as a caller would.
  auto deep = [&](const std::string& policy,
                  uint64_t total) -> absl::StatusOr<std::string> {
    std::string after;
    for (uint64_t seen = 0; seen < total / 2;) {
      absl::StatusOr<Fetched> page = fetch(policy, after);
      if (!page.ok()) return page.status();
      if (page->next.empty()) return absl::InternalError("ran out of pages");
      seen += page->entries;
      after = page->next;
    }
    return after;
  };
  struct Kind {
    std::string name;
    std::string policy;
    std::string after;
  };
  std::vector<Kind> kinds = {{"first", "", ""},
                             {"policy_first", kIpPolicy, ""}};
  absl::StatusOr<std::string> mid = deep("", lockouts);
  if (!mid.ok()) return mid.status();
  kinds.push_back({"deep", "", *mid});
  absl::StatusOr<std::string> policy_mid = deep(kIpPolicy, lockouts / 2);
  if (!policy_mid.ok()) return policy_mid.status();
  kinds.push_back({"policy_deep", kIpPolicy, *policy_mid});

  for (const Kind& kind : kinds) {
    // The first call of a kind reads its blocks from disk: reported on its
    // own (cold_ms), the percentiles are of the calls after it.
    std::vector<double> ms;
    double cold_ms = 0;
    size_t entries = 0;
    for (int i = 0; i <= samples; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      absl::StatusOr<Fetched> page = fetch(kind.policy, kind.after);
      const double took = SecondsSince(t0) * 1000;
      if (!page.ok()) return page.status();
      if (i == 0) {
        cold_ms = took;
      } else {
        ms.push_back(took);
      }
      entries = page->entries;
    }
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) {
      return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
    };
    JsonLine j;
    j.Add("label", absl::StrCat(label, "_", kind.name))
        .Add("policy", kind.policy.empty() ? "(all)" : kind.policy)
        .Add("page_size", page_size)
        .Add("entries", static_cast<double>(entries))
        .Add("samples", samples)
        .Add("cold_ms", cold_ms)
        .Add("p50_ms", at(0.5))
        .Add("p99_ms", at(0.99))
        .Add("max_ms", ms.back());
    if (absl::Status s = Append(j.str()); !s.ok()) return s;
  }

  // Every page, one after the other.
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t listed = 0, pages = 0;
  std::string after;
  do {
    absl::StatusOr<Fetched> page = fetch("", after);
    if (!page.ok()) return page.status();
    listed += page->entries;
    ++pages;
    after = page->next;
  } while (!after.empty());
  JsonLine j;
  j.Add("label", absl::StrCat(label, "_walk"))
      .Add("pages", static_cast<double>(pages))
      .Add("listed", static_cast<double>(listed))
      .Add("seconds", SecondsSince(t0));
  if (listed != lockouts) {
    return absl::InternalError(
        absl::StrCat("listed ", listed, " lockouts of ", lockouts, " written"));
  }
  return Append(j.str());
}

// The store's own pages, in process: the baseline for the server's.
FetchPage StoreFetch(CounterStore& store) {
  return [&store](const std::string& policy,
                  const std::string& after) -> absl::StatusOr<Fetched> {
    LockoutQuery query;
    query.policy = policy;
    query.now_ms = absl::ToUnixMillis(absl::Now());
    query.page_size = absl::GetFlag(FLAGS_page_size);
    query.after = after;
    absl::StatusOr<LockoutPage> page = store.ListLockouts(query);
    if (!page.ok()) return page.status();
    return Fetched{page->entries.size(), page->next};
  };
}

Policy MakePolicy(const std::string& name, std::vector<std::string> dims) {
  Policy p;
  p.name = name;
  p.dimensions = std::move(dims);
  return p;
}

// Writes the data set; counter i is of policy i % 2, IP 10.x.y.z from i;
// one in every (counters / lockouts) is locked out, one lockout in ten of
// them permanently, locked at times a quarter second apart before now.
absl::Status Build(const std::string& dir, uint64_t counters,
                   uint64_t lockouts) {
  if (lockouts == 0 || lockouts > counters || counters > (1u << 24)) {
    return absl::InvalidArgumentError(
        "--lockouts must be 1..--counters, --counters at most 2^24");
  }
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      OpenRocksDbStore(dir, RealClock::Get());
  if (!store.ok()) return store.status();
  CounterStore& counter_store = (*store)->counters();
  const Policy policies[2] = {MakePolicy(kIpPolicy, {"ip"}),
                              MakePolicy(kUserIpPolicy, {"ip", "user"})};
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const uint64_t stride = counters / lockouts;
  const uint64_t commit_puts =
      std::max<uint64_t>(1, absl::GetFlag(FLAGS_commit_puts));
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t locked = 0, commits = 0;
  WriteSet writes;
  for (uint64_t i = 0; i < counters; ++i) {
    const Policy& policy = policies[i % 2];
    const std::string ip = absl::StrCat("10.", (i >> 16) & 0xff, ".",
                                        (i >> 8) & 0xff, ".", i & 0xff);
    std::map<std::string, std::string> key = {{"ip", ip}};
    if (i % 2 == 1) key["user"] = absl::StrCat("user", i);
    absl::StatusOr<DerivedKey> derived =
        DeriveSubjectKey(policy, key, "key", KeyOptions{});
    if (!derived.ok()) return derived.status();
    CounterState state;
    state.bucket_ms = 1000;
    state.buckets = {{now_ms / 1000, 1 + i % 5}};
    // Two days on: nothing expires while the bench runs.
    state.expires_at_ms = now_ms + 2 * 86'400'000LL;
    // The first or second counter of each stride (alternately), so both
    // policies have lockouts whatever the stride.
    if ((stride == 1 || i % stride == (i / stride) % 2) && locked < lockouts) {
      LockoutEntry entry;
      entry.policy = policy.name;
      entry.storage_key = derived->storage_key;
      entry.locked_at_ms = now_ms - static_cast<int64_t>(locked) * 250;
      entry.locked_until_ms = locked % 10 == 0
                                  ? kLockedUntilUnblockedMs
                                  : entry.locked_at_ms + 86'400'000;
      entry.offences = 1;
      entry.reason = "ceiling";
      entry.key = derived->stored_values;
      state.lockout_until_ms = entry.locked_until_ms;
      state.locked_at_ms = entry.locked_at_ms;
      state.offences = 1;
      state.last_offence_ms = entry.locked_at_ms;
      writes.lockouts.push_back({LockoutChange::Kind::kPut, std::move(entry)});
      ++locked;
    }
    writes.puts.emplace_back(std::move(derived->storage_key), std::move(state));
    if (writes.puts.size() == commit_puts || i + 1 == counters) {
      if (absl::Status s = counter_store.Commit(writes); !s.ok()) return s;
      writes = WriteSet{};
      ++commits;
    }
  }
  const double build_seconds = SecondsSince(t0);
  JsonLine j;
  j.Add("label", absl::GetFlag(FLAGS_label) + "_build")
      .Add("counters", static_cast<double>(counters))
      .Add("lockouts", static_cast<double>(locked))
      .Add("commits", static_cast<double>(commits))
      .Add("build_seconds", build_seconds)
      .Add("counters_per_s", counters / build_seconds);
  if (absl::Status s = Append(j.str()); !s.ok()) return s;

  return TimePages(absl::GetFlag(FLAGS_label) + "_store",
                   StoreFetch(counter_store), locked);
}

// Opens a built data dir, compacts it with --compact, and times its pages.
absl::Status TimeStore(const std::string& dir, uint64_t lockouts) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      OpenRocksDbStore(dir, RealClock::Get());
  if (!store.ok()) return store.status();
  std::string label = absl::GetFlag(FLAGS_label) + "_store";
  if (absl::GetFlag(FLAGS_compact)) {
    const auto t0 = std::chrono::steady_clock::now();
    if (absl::Status s = (*store)->maintenance().CompactAll(); !s.ok()) {
      return s;
    }
    const double seconds = SecondsSince(t0);
    // Compaction kept every counter (none has expired). The scan that
    // counts them is what a listing without the index would cost at least.
    const auto scan0 = std::chrono::steady_clock::now();
    absl::StatusOr<uint64_t> keys = (*store)->maintenance().CountCounterKeys();
    if (!keys.ok()) return keys.status();
    JsonLine j;
    j.Add("label", absl::GetFlag(FLAGS_label) + "_compaction")
        .Add("seconds", seconds)
        .Add("counter_keys", static_cast<double>(*keys))
        .Add("counter_scan_seconds", SecondsSince(scan0));
    if (absl::Status s = Append(j.str()); !s.ok()) return s;
    label += "_compacted";
  }
  return TimePages(label, StoreFetch((*store)->counters()), lockouts);
}

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("--token_file: cannot read " + path);
  std::string token((std::istreambuf_iterator<char>(in)), {});
  return std::string(absl::StripAsciiWhitespace(token));
}

absl::Status TimeServer(const std::string& addr, uint64_t lockouts) {
  absl::StatusOr<std::string> token =
      ReadToken(absl::GetFlag(FLAGS_token_file));
  if (!token.ok()) return token.status();
  std::unique_ptr<v1::Admin::Stub> stub = v1::Admin::NewStub(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  FetchPage fetch = [&](const std::string& policy,
                        const std::string& after) -> absl::StatusOr<Fetched> {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + *token);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::ListLockoutsRequest request;
    request.set_policy(policy);
    request.set_page_size(absl::GetFlag(FLAGS_page_size));
    request.set_page_token(after);
    v1::ListLockoutsResponse response;
    grpc::Status status = stub->ListLockouts(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("ListLockouts: ", status.error_message()));
    }
    return Fetched{static_cast<size_t>(response.lockouts_size()),
                   response.next_page_token()};
  };
  return TimePages(absl::GetFlag(FLAGS_label) + "_grpc", fetch, lockouts);
}

}  // namespace
}  // namespace gatehouse::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gatehouse_lockout_bench --build_data_dir=DIR [--counters=N] | "
      "--time_data_dir=DIR [--compact] | --addr=HOST:PORT --token_file=FILE; "
      "[--lockouts=M]");
  absl::ParseCommandLine(argc, argv);
  using gatehouse::bench::Fail;
  const std::string build = absl::GetFlag(FLAGS_build_data_dir);
  const std::string time = absl::GetFlag(FLAGS_time_data_dir);
  const std::string addr = absl::GetFlag(FLAGS_addr);
  const uint64_t lockouts = absl::GetFlag(FLAGS_lockouts);
  if (build.empty() + time.empty() + addr.empty() != 2) {
    return Fail(absl::InvalidArgumentError(
        "give exactly one of --build_data_dir, --time_data_dir and --addr"));
  }
  absl::Status s =
      !build.empty() ? gatehouse::bench::Build(
                           build, absl::GetFlag(FLAGS_counters), lockouts)
      : !time.empty() ? gatehouse::bench::TimeStore(time, lockouts)
                      : gatehouse::bench::TimeServer(addr, lockouts);
  return s.ok() ? 0 : Fail(s);
}
