#ifndef GATEHOUSE_TESTS_TESTING_COUNTER_STORE_CONTRACT_H_
#define GATEHOUSE_TESTS_TESTING_COUNTER_STORE_CONTRACT_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "service/core/audit_log.h"
#include "service/core/counter_state.h"
#include "service/core/counter_store.h"
#include "service/core/lockout_index.h"
#include "tests/testing/store_contract_env.h"

// The CounterStore contract (service/core/counter_store.h), as a typed suite
// every implementation instantiates with its Env (store_contract_env.h):
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, CounterStoreContractTest,
//                                  InMemoryEnv);
//
// "A failed Commit applies nothing and uses no sequence number" needs the
// implementation's own storage to fail (Env::BreakStorage); an in-memory
// Commit cannot fail, so that test is skipped for it.
namespace gatehouse::testing {

// A lockout index entry with every field set: subject `n` of `policy`,
// locked at `locked_at_ms` until `locked_until_ms`.
inline LockoutEntry ContractLockout(const std::string& policy, int n,
                                    int64_t locked_at_ms,
                                    int64_t locked_until_ms) {
  LockoutEntry e;
  e.policy = policy;
  e.storage_key = "c" + policy + "/subject-" + std::to_string(n);
  e.locked_at_ms = locked_at_ms;
  e.locked_until_ms = locked_until_ms;
  e.offences = static_cast<uint32_t>(n % 5 + 1);
  e.reason = n % 2 == 0 ? "" : "credential stuffing from " + std::to_string(n);
  e.blocked_by = n % 2 == 0 ? "" : "operator-" + std::to_string(n);
  e.key = {{"ip", "203.0.113." + std::to_string(n % 256)},
           {"user", "pseudonym-" + std::to_string(n)}};
  return e;
}

inline LockoutChange PutLockout(const LockoutEntry& entry) {
  return LockoutChange{LockoutChange::Kind::kPut, entry};
}
inline LockoutChange DeleteLockout(const LockoutEntry& entry) {
  LockoutChange change{LockoutChange::Kind::kDelete, {}};
  change.entry.policy = entry.policy;
  change.entry.storage_key = entry.storage_key;
  change.entry.locked_at_ms = entry.locked_at_ms;
  return change;
}

// The storage keys of a page's entries, in order.
inline std::vector<std::string> StorageKeys(const LockoutPage& page) {
  std::vector<std::string> keys;
  for (const LockoutEntry& e : page.entries) keys.push_back(e.storage_key);
  return keys;
}

inline void ExpectSameLockout(const LockoutEntry& actual,
                              const LockoutEntry& expected) {
  EXPECT_EQ(actual.policy, expected.policy);
  EXPECT_EQ(actual.storage_key, expected.storage_key);
  EXPECT_EQ(actual.locked_at_ms, expected.locked_at_ms);
  EXPECT_EQ(actual.locked_until_ms, expected.locked_until_ms);
  EXPECT_EQ(actual.offences, expected.offences);
  EXPECT_EQ(actual.reason, expected.reason);
  EXPECT_EQ(actual.blocked_by, expected.blocked_by);
  EXPECT_EQ(actual.key, expected.key);
}

template <typename Env>
class CounterStoreContractTest : public ::testing::Test {
 protected:
  CounterStore& store() { return env_.store(); }
  AuditLog& log() { return env_.log(); }

  // The state under `key`; nullopt when absent or on a failed read (which
  // records a test failure).
  std::optional<CounterState> ReadState(const std::string& key) {
    absl::StatusOr<std::optional<CounterState>> state = store().Read(key);
    EXPECT_TRUE(state.ok()) << key << ": " << state.status();
    return state.ok() ? *state : std::nullopt;
  }

  void Commit(WriteSet& writes) {
    const absl::Status status = store().Commit(writes);
    ASSERT_TRUE(status.ok()) << status;
  }

  // A page of the lockout index; empty on a failed call (which records a
  // test failure).
  LockoutPage List(const std::string& policy, int64_t now_ms, size_t page_size,
                   const std::string& after = "") {
    LockoutQuery query;
    query.policy = policy;
    query.now_ms = now_ms;
    query.page_size = page_size;
    query.after = after;
    absl::StatusOr<LockoutPage> page = store().ListLockouts(query);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *std::move(page) : LockoutPage{};
  }

  // Every page of `policy`'s lockouts of size `page_size`, following each
  // page's `next` through a page token as a caller would; the storage keys
  // page by page.
  std::vector<std::vector<std::string>> AllPages(const std::string& policy,
                                                 int64_t now_ms,
                                                 size_t page_size) {
    std::vector<std::vector<std::string>> pages;
    std::string after;
    for (int guard = 0; guard < 100; ++guard) {
      const LockoutPage page = List(policy, now_ms, page_size, after);
      pages.push_back(StorageKeys(page));
      if (page.next.empty()) return pages;
      absl::StatusOr<std::string> decoded = DecodeLockoutPageToken(
          EncodeLockoutPageToken(page.next), "page_token");
      EXPECT_TRUE(decoded.ok()) << decoded.status();
      if (!decoded.ok()) return pages;
      after = *decoded;
    }
    ADD_FAILURE() << "paging did not end";
    return pages;
  }

  Env env_;
};

TYPED_TEST_SUITE_P(CounterStoreContractTest);

TYPED_TEST_P(CounterStoreContractTest, UnknownKeyReadsAsAbsent) {
  EXPECT_EQ(this->ReadState("never-written"), std::nullopt);
}

TYPED_TEST_P(CounterStoreContractTest, ReadsBackEveryFieldOfACommittedState) {
  WriteSet writes;
  writes.puts.emplace_back("k1", ContractState(1));
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  EXPECT_EQ(this->ReadState("k1"), ContractState(1));
  EXPECT_EQ(this->ReadState("k2"), std::nullopt);
}

TYPED_TEST_P(CounterStoreContractTest, PutReplacesTheWholeState) {
  WriteSet first;
  first.puts.emplace_back("k", ContractState(1));
  ASSERT_NO_FATAL_FAILURE(this->Commit(first));
  CounterState smaller;
  smaller.bucket_ms = 60'000;
  smaller.buckets = {{kContractStartMs / 60'000, 9}};
  smaller.expires_at_ms = ContractState(0).expires_at_ms;
  WriteSet second;
  second.puts.emplace_back("k", smaller);
  ASSERT_NO_FATAL_FAILURE(this->Commit(second));
  EXPECT_EQ(this->ReadState("k"), smaller);
}

TYPED_TEST_P(CounterStoreContractTest,
             DeleteRemovesAStateAndAbsentKeysAreFine) {
  WriteSet put;
  put.puts.emplace_back("gone", ContractState(1));
  put.puts.emplace_back("kept", ContractState(2));
  ASSERT_NO_FATAL_FAILURE(this->Commit(put));
  WriteSet del;
  del.deletes = {"gone", "never-written"};
  ASSERT_NO_FATAL_FAILURE(this->Commit(del));
  EXPECT_EQ(this->ReadState("gone"), std::nullopt);
  EXPECT_EQ(this->ReadState("never-written"), std::nullopt);
  EXPECT_EQ(this->ReadState("kept"), ContractState(2));
}

TYPED_TEST_P(CounterStoreContractTest, MultiKeyCommitAppliesEveryChange) {
  WriteSet setup;
  setup.puts.emplace_back("a", ContractState(1));
  setup.puts.emplace_back("b", ContractState(2));
  ASSERT_NO_FATAL_FAILURE(this->Commit(setup));
  WriteSet writes;
  writes.puts.emplace_back("a", ContractState(10));
  writes.puts.emplace_back("c", ContractState(11));
  writes.deletes = {"b"};
  writes.audit.push_back(ContractEvent("multi-0", EventTimeMs(1)));
  writes.audit.push_back(ContractEvent("multi-1", EventTimeMs(2)));
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  EXPECT_EQ(this->ReadState("a"), ContractState(10));
  EXPECT_EQ(this->ReadState("b"), std::nullopt);
  EXPECT_EQ(this->ReadState("c"), ContractState(11));
  EXPECT_EQ(this->log().HeadSequence(), 2u);
}

// Two keys always written together with the same count, "a" before "b" in
// the WriteSet; a reader reading "a" then "b" can see "b" newer than "a"
// (a commit landed between its reads) but never older, which it would if a
// commit's puts became visible one at a time.
TYPED_TEST_P(CounterStoreContractTest, ReadersNeverSeeHalfACommit) {
  auto count_of = [](const std::optional<CounterState>& s) -> uint64_t {
    return s.has_value() && !s->buckets.empty() ? s->buckets[0].count : 0;
  };
  constexpr uint64_t kCommits = 1500;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, observed{0};
  std::thread reader([&] {
    do {
      absl::StatusOr<std::optional<CounterState>> a = this->store().Read("a");
      absl::StatusOr<std::optional<CounterState>> b = this->store().Read("b");
      if (!a.ok() || !b.ok()) continue;
      ++observed;
      if (count_of(*b) < count_of(*a)) ++torn;
    } while (!done.load());
  });
  // Commits start once the reader is reading, and yield between commits.
  while (observed.load() == 0) std::this_thread::yield();
  for (uint64_t i = 1; i <= kCommits; ++i) {
    std::this_thread::yield();
    CounterState state = ContractState(0);
    state.buckets = {{kContractStartMs / 1000, i}};
    WriteSet writes;
    writes.puts.emplace_back("a", state);
    writes.puts.emplace_back("b", state);
    if (i % 3 == 0) writes.audit.push_back(ContractEvent("pair", 0));
    const absl::Status status = this->store().Commit(writes);
    if (!status.ok()) {
      ADD_FAILURE() << status;
      break;
    }
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "of " << observed.load() << " read pairs";
  EXPECT_EQ(count_of(this->ReadState("a")), kCommits);
  EXPECT_EQ(count_of(this->ReadState("b")), kCommits);
  EXPECT_EQ(this->log().HeadSequence(), kCommits / 3);
}

TYPED_TEST_P(CounterStoreContractTest,
             CommitNumbersItsEventsConsecutivelyAfterTheHead) {
  EXPECT_EQ(this->log().HeadSequence(), 0u);
  const std::vector<AuditEvent> first =
      CommitEvents(this->store(), "first", 3, EventTimeMs(1));
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].sequence, 1u);
  EXPECT_EQ(first[1].sequence, 2u);
  EXPECT_EQ(first[2].sequence, 3u);
  const std::vector<AuditEvent> second =
      CommitEvents(this->store(), "second", 2, EventTimeMs(4));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].sequence, 4u);
  EXPECT_EQ(second[1].sequence, 5u);
  EXPECT_EQ(this->log().HeadSequence(), 5u);

  // Stored as committed, in commit order.
  absl::StatusOr<std::vector<AuditEvent>> stored = this->log().Read(1, 100);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 5u);
  for (size_t i = 0; i < 3; ++i) ExpectSameEvent((*stored)[i], first[i]);
  for (size_t i = 0; i < 2; ++i) ExpectSameEvent((*stored)[3 + i], second[i]);
}

TYPED_TEST_P(CounterStoreContractTest, CommitWithoutEventsUsesNoSequence) {
  CommitEvents(this->store(), "before", 2, EventTimeMs(1));
  WriteSet counters_only;
  counters_only.puts.emplace_back("k", ContractState(1));
  ASSERT_NO_FATAL_FAILURE(this->Commit(counters_only));
  EXPECT_EQ(this->log().HeadSequence(), 2u);
  const std::vector<AuditEvent> after =
      CommitEvents(this->store(), "after", 1, EventTimeMs(3));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].sequence, 3u);
}

// Commits from many threads at once: every sequence from 1 to the head is
// used exactly once, each commit's events are consecutive, and the log holds
// each event under the sequence its commit was given.
TYPED_TEST_P(CounterStoreContractTest,
             ConcurrentCommitsShareOneGapFreeSequence) {
  constexpr int kThreads = 6;
  constexpr int kCommitsPerThread = 60;
  constexpr size_t kEventsPerCommit = 3;
  std::vector<std::vector<AuditEvent>> committed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCommitsPerThread; ++c) {
        WriteSet writes;
        writes.puts.emplace_back("t" + std::to_string(t), ContractState(c));
        for (size_t e = 0; e < kEventsPerCommit; ++e) {
          writes.audit.push_back(ContractEvent("t" + std::to_string(t) + "-c" +
                                                   std::to_string(c) + "-e" +
                                                   std::to_string(e),
                                               kContractStartMs));
        }
        if (!this->store().Commit(writes).ok()) return;
        for (size_t e = 1; e < kEventsPerCommit; ++e) {
          if (writes.audit[e].sequence != writes.audit[e - 1].sequence + 1) {
            return;  // Caught below: the thread's events come up short.
          }
        }
        for (AuditEvent& event : writes.audit) {
          committed[t].push_back(std::move(event));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();

  const uint64_t total = kThreads * kCommitsPerThread * kEventsPerCommit;
  std::map<uint64_t, const AuditEvent*> by_sequence;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(committed[t].size(), kCommitsPerThread * kEventsPerCommit)
        << "thread " << t << " failed a commit or got non-consecutive events";
    for (const AuditEvent& event : committed[t]) {
      EXPECT_TRUE(by_sequence.emplace(event.sequence, &event).second)
          << "sequence " << event.sequence << " given twice";
    }
  }
  EXPECT_EQ(this->log().HeadSequence(), total);
  ASSERT_EQ(by_sequence.size(), total);
  EXPECT_EQ(by_sequence.begin()->first, 1u);
  EXPECT_EQ(by_sequence.rbegin()->first, total);

  absl::StatusOr<std::vector<AuditEvent>> stored = this->log().Read(1, total);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), total);
  for (const AuditEvent& event : *stored) {
    ASSERT_EQ(by_sequence.count(event.sequence), 1u);
    EXPECT_EQ(event.client_id, by_sequence[event.sequence]->client_id)
        << "at sequence " << event.sequence;
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(this->ReadState("t" + std::to_string(t)),
              ContractState(kCommitsPerThread - 1));
  }
}

// The lockout index (WriteSet::lockouts, ListLockouts).
constexpr int64_t kLockNowMs = kContractStartMs + 3'600'000;
constexpr int64_t kLockEndMs = kLockNowMs + 900'000;

TYPED_TEST_P(CounterStoreContractTest,
             LockoutIndexListsNewestFirstAndAppliesChangesInOrder) {
  const LockoutEntry a =
      ContractLockout("login_ip", 1, kLockNowMs - 3000, kLockEndMs);
  const LockoutEntry b =
      ContractLockout("login_ip", 2, kLockNowMs - 1000, kLockEndMs);
  const LockoutEntry c =
      ContractLockout("login_user", 3, kLockNowMs - 2000, kLockEndMs);
  const LockoutEntry gone =
      ContractLockout("login_ip", 4, kLockNowMs - 500, kLockEndMs);
  WriteSet writes;
  writes.lockouts = {PutLockout(a), PutLockout(gone), PutLockout(b),
                     DeleteLockout(gone), PutLockout(c)};
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  LockoutPage page = this->List("", kLockNowMs, 10);
  EXPECT_EQ(
      StorageKeys(page),
      (std::vector<std::string>{b.storage_key, c.storage_key, a.storage_key}));
  EXPECT_EQ(page.next, "");
  ASSERT_EQ(page.entries.size(), 3u);
  ExpectSameLockout(page.entries[0], b);
  ExpectSameLockout(page.entries[1], c);
  ExpectSameLockout(page.entries[2], a);

  // A delete then a put of the same entry in one commit leaves it listed,
  // with what the put said.
  LockoutEntry a_again = a;
  a_again.locked_until_ms = kLockEndMs + 1;
  a_again.reason = "extended";
  WriteSet second;
  second.lockouts = {DeleteLockout(a), PutLockout(a_again), DeleteLockout(c)};
  ASSERT_NO_FATAL_FAILURE(this->Commit(second));
  page = this->List("", kLockNowMs, 10);
  EXPECT_EQ(StorageKeys(page),
            (std::vector<std::string>{b.storage_key, a.storage_key}));
  ASSERT_EQ(page.entries.size(), 2u);
  ExpectSameLockout(page.entries[1], a_again);
  EXPECT_TRUE(this->List("login_user", kLockNowMs, 10).entries.empty());
}

TYPED_TEST_P(CounterStoreContractTest,
             LockoutPagesFollowTokensAndEndWhereTheEntriesDo) {
  // Seven entries, three of them locked at the same time: ordered by
  // storage key among themselves.
  WriteSet writes;
  std::vector<std::string> newest_first;
  for (int n = 7; n >= 1; --n) {
    const int64_t at = n >= 5 ? kLockNowMs - 100 : kLockNowMs - 1000 * (8 - n);
    writes.lockouts.push_back(
        PutLockout(ContractLockout("login_ip", n, at, kLockEndMs)));
  }
  newest_first = {"clogin_ip/subject-5", "clogin_ip/subject-6",
                  "clogin_ip/subject-7", "clogin_ip/subject-4",
                  "clogin_ip/subject-3", "clogin_ip/subject-2",
                  "clogin_ip/subject-1"};
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  using Pages = std::vector<std::vector<std::string>>;
  EXPECT_EQ(this->AllPages("", kLockNowMs, 3),
            (Pages{{newest_first[0], newest_first[1], newest_first[2]},
                   {newest_first[3], newest_first[4], newest_first[5]},
                   {newest_first[6]}}));
  // A last page that is exactly full has no next.
  EXPECT_EQ(this->AllPages("", kLockNowMs, 7), (Pages{newest_first}));
  EXPECT_EQ(this->AllPages("login_ip", kLockNowMs, 1).size(), 7u);
  EXPECT_TRUE(this->List("", kLockNowMs, 0).entries.empty());
  // The next page starts strictly after the position given.
  const LockoutPage first = this->List("", kLockNowMs, 2);
  ASSERT_EQ(first.entries.size(), 2u);
  EXPECT_EQ(first.next, LockoutOrderKey(first.entries[1].locked_at_ms,
                                        first.entries[1].storage_key));
  EXPECT_EQ(StorageKeys(this->List("", kLockNowMs, 1, first.next)),
            (std::vector<std::string>{newest_first[2]}));
}

TYPED_TEST_P(CounterStoreContractTest, LockoutPolicyFilterListsOnlyThatPolicy) {
  WriteSet writes;
  for (int n = 0; n < 10; ++n) {
    writes.lockouts.push_back(
        PutLockout(ContractLockout(n % 2 == 0 ? "login_ip" : "login_ip_user", n,
                                   kLockNowMs - 1000 * n, kLockEndMs)));
  }
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  using Pages = std::vector<std::vector<std::string>>;
  EXPECT_EQ(this->AllPages("login_ip", kLockNowMs, 2),
            (Pages{{"clogin_ip/subject-0", "clogin_ip/subject-2"},
                   {"clogin_ip/subject-4", "clogin_ip/subject-6"},
                   {"clogin_ip/subject-8"}}));
  EXPECT_EQ(this->AllPages("login_ip_user", kLockNowMs, 5),
            (Pages{{"clogin_ip_user/subject-1", "clogin_ip_user/subject-3",
                    "clogin_ip_user/subject-5", "clogin_ip_user/subject-7",
                    "clogin_ip_user/subject-9"}}));
  EXPECT_TRUE(this->List("login", kLockNowMs, 10).entries.empty());
  EXPECT_TRUE(this->List("unknown_policy", kLockNowMs, 10).entries.empty());
  EXPECT_EQ(this->List("", kLockNowMs, 100).entries.size(), 10u);
  for (const LockoutEntry& e :
       this->List("login_ip_user", kLockNowMs, 100).entries) {
    EXPECT_EQ(e.policy, "login_ip_user");
  }
}

TYPED_TEST_P(CounterStoreContractTest,
             EndedLockoutsAreNotListedAndPermanentOnesAre) {
  const LockoutEntry ended =
      ContractLockout("login_ip", 1, kLockNowMs - 1000, kLockNowMs - 1);
  const LockoutEntry ends_now =
      ContractLockout("login_ip", 2, kLockNowMs - 2000, kLockNowMs);
  const LockoutEntry live =
      ContractLockout("login_ip", 3, kLockNowMs - 3000, kLockNowMs + 1);
  const LockoutEntry permanent = ContractLockout(
      "login_ip", 4, kLockNowMs - 4000, kLockedUntilUnblockedMs);
  const LockoutEntry old_permanent =
      ContractLockout("login_ip", 5, 1, kLockedUntilUnblockedMs);
  WriteSet writes;
  writes.lockouts = {PutLockout(ended), PutLockout(ends_now), PutLockout(live),
                     PutLockout(permanent), PutLockout(old_permanent)};
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  using Pages = std::vector<std::vector<std::string>>;
  EXPECT_EQ(this->AllPages("", kLockNowMs, 1),
            (Pages{{live.storage_key},
                   {permanent.storage_key},
                   {old_permanent.storage_key}}));
  // `next` only when a listed entry follows: ended ones before and after
  // a full page do not count.
  WriteSet newer;
  newer.lockouts = {
      PutLockout(
          ContractLockout("login_ip", 6, kLockNowMs - 10, kLockNowMs - 5)),
      PutLockout(ContractLockout("login_ip", 7, 1, kLockNowMs - 5))};
  ASSERT_NO_FATAL_FAILURE(this->Commit(newer));
  EXPECT_EQ(this->AllPages("login_ip", kLockNowMs, 3),
            (Pages{{live.storage_key, permanent.storage_key,
                    old_permanent.storage_key}}));
  // Later, only the permanent ones are left.
  EXPECT_EQ(this->AllPages("", kLockNowMs + 86'400'000, 10),
            (Pages{{permanent.storage_key, old_permanent.storage_key}}));
  ASSERT_EQ(this->List("", kLockNowMs + 86'400'000, 10).entries.size(), 2u);
  EXPECT_EQ(
      this->List("", kLockNowMs + 86'400'000, 10).entries[0].locked_until_ms,
      kLockedUntilUnblockedMs);
}

TYPED_TEST_P(CounterStoreContractTest,
             CommitStampsEachPutWithItsLastEventsSequence) {
  CommitEvents(this->store(), "before", 2, EventTimeMs(1));
  WriteSet writes;
  CounterState locked = ContractState(1);
  locked.locked_at_ms = kLockNowMs;
  writes.puts.emplace_back("stamped", locked);
  writes.puts.emplace_back("no-event", ContractState(2));
  writes.puts.emplace_back("beyond-put-events", ContractState(3));
  writes.puts[1].second.last_audit_sequence = 1;  // Kept: kNoEvent.
  writes.audit.push_back(ContractEvent("e0", EventTimeMs(3)));
  writes.audit.push_back(ContractEvent("e1", EventTimeMs(3)));
  writes.audit.push_back(ContractEvent("e2", EventTimeMs(3)));
  writes.put_events = {1, WriteSet::kNoEvent};
  writes.lockouts = {
      PutLockout(ContractLockout("login_ip", 1, kLockNowMs, kLockEndMs))};
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  EXPECT_EQ(writes.audit[1].sequence, 4u);
  EXPECT_EQ(writes.puts[0].second.last_audit_sequence, 4u);
  EXPECT_EQ(writes.puts[1].second.last_audit_sequence, 1u);
  EXPECT_EQ(writes.puts[2].second.last_audit_sequence, 0u);
  CounterState want = locked;
  want.last_audit_sequence = 4;
  EXPECT_EQ(this->ReadState("stamped"), want);
  EXPECT_EQ(this->ReadState("stamped")->locked_at_ms, kLockNowMs);
  CounterState no_event = ContractState(2);
  no_event.last_audit_sequence = 1;
  EXPECT_EQ(this->ReadState("no-event"), no_event);
  EXPECT_EQ(this->ReadState("beyond-put-events"), ContractState(3));
  EXPECT_EQ(this->List("", kLockNowMs, 10).entries.size(), 1u);
}

// Concurrent commits are group-committed in the RocksDB store: each put
// still gets its own commit's event sequence.
TYPED_TEST_P(CounterStoreContractTest,
             ConcurrentCommitsStampTheirOwnSequences) {
  constexpr int kThreads = 4;
  constexpr int kCommitsPerThread = 40;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCommitsPerThread; ++c) {
        const std::string key = "t" + std::to_string(t);
        WriteSet writes;
        writes.puts.emplace_back(key, ContractState(c));
        writes.audit.push_back(ContractEvent(key + "-a", kContractStartMs));
        writes.audit.push_back(ContractEvent(key + "-b", kContractStartMs));
        writes.put_events = {1};
        if (!this->store().Commit(writes).ok() ||
            writes.puts[0].second.last_audit_sequence !=
                writes.audit[1].sequence ||
            writes.audit[1].sequence == 0) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    const std::optional<CounterState> state =
        this->ReadState("t" + std::to_string(t));
    ASSERT_TRUE(state.has_value());
    absl::StatusOr<std::vector<AuditEvent>> event =
        this->log().Read(state->last_audit_sequence, 1);
    ASSERT_TRUE(event.ok()) << event.status();
    ASSERT_EQ(event->size(), 1u);
    EXPECT_EQ((*event)[0].client_id, "t" + std::to_string(t) + "-b");
  }
}

// Stores that keep what they hold across a reopen (Env::Reopen()).
template <typename Env>
class DurableCounterStoreContractTest : public CounterStoreContractTest<Env> {};
TYPED_TEST_SUITE_P(DurableCounterStoreContractTest);

TYPED_TEST_P(DurableCounterStoreContractTest,
             StatesAndSequencesSurviveReopening) {
  {
    WriteSet writes;
    writes.puts.emplace_back("k", ContractState(4));
    writes.audit.push_back(ContractEvent("before", EventTimeMs(1)));
    writes.audit.push_back(ContractEvent("before", EventTimeMs(2)));
    ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
    ASSERT_NO_FATAL_FAILURE(this->env_.Reopen());
    EXPECT_EQ(this->ReadState("k"), ContractState(4));
    EXPECT_EQ(this->log().HeadSequence(), 2u);
    const std::vector<AuditEvent> after =
        CommitEvents(this->store(), "after", 1, EventTimeMs(3));
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].sequence, 3u);
    absl::StatusOr<std::vector<AuditEvent>> stored = this->log().Read(1, 10);
    ASSERT_TRUE(stored.ok()) << stored.status();
    ASSERT_EQ(stored->size(), 3u);
    ExpectSameEvent((*stored)[0], writes.audit[0]);
    ExpectSameEvent((*stored)[1], writes.audit[1]);
    ExpectSameEvent((*stored)[2], after[0]);
  }
}

TYPED_TEST_P(DurableCounterStoreContractTest, LockoutIndexSurvivesReopening) {
  const LockoutEntry kept =
      ContractLockout("login_ip", 1, kLockNowMs - 1000, kLockEndMs);
  const LockoutEntry permanent = ContractLockout(
      "login_user", 2, kLockNowMs - 2000, kLockedUntilUnblockedMs);
  const LockoutEntry deleted =
      ContractLockout("login_ip", 3, kLockNowMs - 500, kLockEndMs);
  WriteSet writes;
  writes.lockouts = {PutLockout(kept), PutLockout(permanent),
                     PutLockout(deleted)};
  ASSERT_NO_FATAL_FAILURE(this->Commit(writes));
  WriteSet del;
  del.lockouts = {DeleteLockout(deleted)};
  del.audit.push_back(ContractEvent("unblock", EventTimeMs(1)));
  ASSERT_NO_FATAL_FAILURE(this->Commit(del));
  ASSERT_NO_FATAL_FAILURE(this->env_.Reopen());
  const LockoutPage page = this->List("", kLockNowMs, 10);
  ASSERT_EQ(StorageKeys(page), (std::vector<std::string>{
                                   kept.storage_key, permanent.storage_key}));
  ExpectSameLockout(page.entries[0], kept);
  ExpectSameLockout(page.entries[1], permanent);
  EXPECT_EQ(StorageKeys(this->List("login_user", kLockNowMs, 10)),
            (std::vector<std::string>{permanent.storage_key}));
}

// Storage failing under a multi-key commit with events: UNAVAILABLE, no
// counter change and no event, neither at once nor once storage works
// again, and the next commit takes the very next sequence.
template <typename Env>
class FailingCounterStoreContractTest : public CounterStoreContractTest<Env> {};
TYPED_TEST_SUITE_P(FailingCounterStoreContractTest);

TYPED_TEST_P(FailingCounterStoreContractTest, FailedCommitLeavesNothing) {
  {
    WriteSet before;
    before.puts.emplace_back("kept", ContractState(1));
    before.puts.emplace_back("deleted", ContractState(2));
    before.audit.push_back(ContractEvent("before", EventTimeMs(1)));
    ASSERT_NO_FATAL_FAILURE(this->Commit(before));

    ASSERT_NO_FATAL_FAILURE(this->env_.BreakStorage());
    WriteSet failed;
    failed.puts.emplace_back("kept", ContractState(10));
    failed.puts.emplace_back("new", ContractState(11));
    failed.deletes = {"deleted"};
    failed.audit.push_back(ContractEvent("failed-0", EventTimeMs(2)));
    failed.audit.push_back(ContractEvent("failed-1", EventTimeMs(2)));
    const absl::Status status = this->store().Commit(failed);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    auto expect_unchanged = [this] {
      EXPECT_EQ(this->ReadState("kept"), ContractState(1));
      EXPECT_EQ(this->ReadState("deleted"), ContractState(2));
      EXPECT_EQ(this->ReadState("new"), std::nullopt);
      EXPECT_EQ(this->log().HeadSequence(), 1u);
      absl::StatusOr<std::vector<AuditEvent>> events = this->log().Read(1, 10);
      ASSERT_TRUE(events.ok()) << events.status();
      ASSERT_EQ(events->size(), 1u);
      EXPECT_EQ((*events)[0].client_id, "before");
    };
    {
      SCOPED_TRACE("while storage fails");
      expect_unchanged();
    }
    ASSERT_NO_FATAL_FAILURE(this->env_.RepairStorage());
    {
      SCOPED_TRACE("once storage works again");
      expect_unchanged();
    }
    const std::vector<AuditEvent> after =
        CommitEvents(this->store(), "after", 1, EventTimeMs(3));
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].sequence, 2u);
  }
}

// A failed commit changes nothing in the lockout index either, and leaves
// its WriteSet's sequences as they came.
TYPED_TEST_P(FailingCounterStoreContractTest,
             FailedCommitChangesNoLockoutAndStampsNothing) {
  const LockoutEntry before =
      ContractLockout("login_ip", 1, kLockNowMs - 1000, kLockEndMs);
  const LockoutEntry added =
      ContractLockout("login_ip", 2, kLockNowMs - 10, kLockEndMs);
  WriteSet setup;
  setup.lockouts = {PutLockout(before)};
  setup.audit.push_back(ContractEvent("before", EventTimeMs(1)));
  ASSERT_NO_FATAL_FAILURE(this->Commit(setup));

  ASSERT_NO_FATAL_FAILURE(this->env_.BreakStorage());
  WriteSet failed;
  CounterState state = ContractState(5);
  state.last_audit_sequence = 1;
  failed.puts.emplace_back("k", state);
  failed.audit.push_back(ContractEvent("failed", EventTimeMs(2)));
  failed.put_events = {0};
  failed.lockouts = {DeleteLockout(before), PutLockout(added)};
  const absl::Status status = this->store().Commit(failed);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(failed.audit[0].sequence, 0u);
  EXPECT_EQ(failed.puts[0].second.last_audit_sequence, 1u);
  // Without events (written on its own in the RocksDB store) too.
  WriteSet failed_alone;
  failed_alone.lockouts = {DeleteLockout(before), PutLockout(added)};
  EXPECT_EQ(this->store().Commit(failed_alone).code(),
            absl::StatusCode::kUnavailable);
  {
    SCOPED_TRACE("while storage fails");
    EXPECT_EQ(StorageKeys(this->List("", kLockNowMs, 10)),
              (std::vector<std::string>{before.storage_key}));
  }
  ASSERT_NO_FATAL_FAILURE(this->env_.RepairStorage());
  {
    SCOPED_TRACE("once storage works again");
    EXPECT_EQ(StorageKeys(this->List("", kLockNowMs, 10)),
              (std::vector<std::string>{before.storage_key}));
    EXPECT_EQ(StorageKeys(this->List("login_ip", kLockNowMs, 10)),
              (std::vector<std::string>{before.storage_key}));
    EXPECT_EQ(this->ReadState("k"), std::nullopt);
  }
}

REGISTER_TYPED_TEST_SUITE_P(
    CounterStoreContractTest, UnknownKeyReadsAsAbsent,
    ReadsBackEveryFieldOfACommittedState, PutReplacesTheWholeState,
    DeleteRemovesAStateAndAbsentKeysAreFine, MultiKeyCommitAppliesEveryChange,
    ReadersNeverSeeHalfACommit, CommitNumbersItsEventsConsecutivelyAfterTheHead,
    CommitWithoutEventsUsesNoSequence, ConcurrentCommitsShareOneGapFreeSequence,
    LockoutIndexListsNewestFirstAndAppliesChangesInOrder,
    LockoutPagesFollowTokensAndEndWhereTheEntriesDo,
    LockoutPolicyFilterListsOnlyThatPolicy,
    EndedLockoutsAreNotListedAndPermanentOnesAre,
    CommitStampsEachPutWithItsLastEventsSequence,
    ConcurrentCommitsStampTheirOwnSequences);
REGISTER_TYPED_TEST_SUITE_P(DurableCounterStoreContractTest,
                            StatesAndSequencesSurviveReopening,
                            LockoutIndexSurvivesReopening);
// Instantiated only for stores that are durable or can fail.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DurableCounterStoreContractTest);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FailingCounterStoreContractTest);
REGISTER_TYPED_TEST_SUITE_P(FailingCounterStoreContractTest,
                            FailedCommitLeavesNothing,
                            FailedCommitChangesNoLockoutAndStampsNothing);

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_COUNTER_STORE_CONTRACT_H_
