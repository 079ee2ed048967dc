#!/usr/bin/env bash
# Sanitizer builds of the tests, each in its own build directory so the
# normal build is untouched:
#
#   asan  build-asan: gcc, AddressSanitizer (+LeakSanitizer) and
#         UndefinedBehaviorSanitizer, everything compiled with them; runs
#         every ctest test (unit, service, fuzz seeds, integration and fault
#         tests against the real binary, itself sanitized) but the chart's
#         (Go, no C++ of ours).
#   tsan  build-tsan: gcc, ThreadSanitizer; runs the concurrency tests
#         (TSAN_TESTS_REGEX below): the Limiter's striped locks and policy
#         swaps, the RocksDB store and audit log under concurrent commits,
#         the metrics registry, and the real server under many client
#         threads (concurrent Records, SIGHUP reload, audit streaming).
#
# Usage: scripts/sanitize.sh [asan|tsan]...   (both by default)
#
# Any sanitizer report fails the run, including one from a child process
# (the gatehouse server or gatehousectl under an integration test, which may
# be killed by its test and so cannot be trusted to fail it): every report is
# written under <build>/sanitizer-logs/ and the script fails when that folder
# is not empty after ctest.
#
# Debian's Abseil, gRPC, protobuf and RocksDB are not built with sanitizers:
# ASan and UBSan check our code and what it passes them; LeakSanitizer
# checks every allocation (one c-ares leak at exit is suppressed). TSan
# cannot see how those libraries synchronise, so:
#   - a generated shim (build_tsan_shim) wraps the absl::Mutex and
#     absl::Notification entry points our code calls with the annotations an
#     Abseil built with TSan makes itself (without it, everything our code
#     guards with an absl::Mutex is reported as a race, and a Mutex left in
#     Await looks still held: a false "double lock"); check_tsan_shim_covers
#     fails the run when our code calls one the shim does not wrap;
#   - objects our code hands between threads through gRPC's completion
#     queue are marked with client/thread_handoff.h;
#   - ignore_noninstrumented_modules=1, and a suppression of races whose
#     racing access is in gRPC's own (inlined header) code (race_top, so a
#     race in our code is reported even when gRPC called it), keep reports
#     to races in our code. Accesses made inside the uninstrumented
#     libraries are not checked.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc)

# Tests whose point is concurrency, which TSan runs, and the test programs
# that hold them: only these are built in build-tsan, so a new concurrency
# test needs its program listed here. The integration ones run the
# TSan-built server under load from many client threads.
TSAN_TESTS_REGEX=${TSAN_TESTS_REGEX:-'Concurren|AwaitAfterWakes|ReadersNeverSeeHalf|UnderLoad|Reconnecting|Watcher|Sighup|CoalescerTest|DecisionPoolTest|PoolQueues|BatchStreamTest|ReadersSeeAllOfAnApply|HotKeyDecisionsShare|OnlyQueuedStatesWait'}
TSAN_TEST_DIRS="core;storage;metrics;grpc;client;integration;reliability"
TSAN_TARGETS=(
  core_limiter_concurrency_test  # LimiterConcurrencyTest.*
  core_stripe_set_test           # ConcurrentOverlappingRequests...
  storage_rocksdb_limiter_test   # ConcurrentRecordsAreAllCounted
  storage_rocksdb_ordered_commit_test # HotKeyDecisionsShareSyncedWrites,
                                      # ConcurrentChecksOnAHotKey...
  core_cached_counter_store_queued_test # ...OnlyQueuedStatesWaitsForThem,
                                        # the contract's Concurrent...
  storage_counter_checkpointer_test # ConcurrentCommitsReadsAndCheckpoints...
  storage_dirty_counters_test    # ReadersSeeAllOfAnApplyOrNoneOfIt
  storage_rocksdb_audit_log_test # ConcurrentCommits..., AwaitAfterWakes...
  storage_refusal_aggregator_test # ConcurrentAddsAndFlushes...
  core_in_memory_counter_store_contract_test    # CounterStore and AuditLog
  storage_rocksdb_counter_store_contract_test   # contracts: Concurrent...,
                                                # ReadersNeverSeeHalf...
  metrics_concurrency_test       # metrics ConcurrencyTest.*
  integration_sign_in_flow_test  # ConcurrentRecordsFromManyClients...
  integration_audit_stream_test  # ReconnectingConsumer..., Watcher...
  integration_restart_test       # SighupReload...
  reliability_reload_under_load_test # ReloadUnderLoadTest: policy and
                                     # credential swaps under many callers
  client_coalescer_test          # CoalescerTest.*: 64 callers, one batcher
  client_circuit_breaker_test    # ConcurrentCallersLetExactlyOneProbeThrough
  grpc_decision_pool_test        # DecisionPoolTest.*
  grpc_inflight_limit_test       # PoolQueuesOnlyAdmittedCallsAndShedsTheRest
  grpc_batch_stream_test         # BatchStreamTest.*: a bidi reactor
)
# Not integration_graceful_shutdown_test: it is race-free under TSan, but
# its exact count after SIGTERM fails when TSan's slowdown pushes in-flight
# calls past the 200 ms shutdown grace (a call is committed, then cancelled
# before its answer is sent).

# Tests that measure the server's memory; see run_asan.
ASAN_RSS_TESTS_REGEX=${ASAN_RSS_TESTS_REGEX:-'GrowServerMemory|OverloadTest|SoakTest|HostileHttp2Test'}

say() { echo "sanitize: $*" >&2; }

# Fails, printing them, when sanitizer reports were written to $1.
check_logs() {
  local dir=$1
  if compgen -G "$dir/*" >/dev/null; then
    say "sanitizer reports in $dir:"
    for f in "$dir"/*; do
      echo "==== $f" >&2
      head -c 20000 "$f" >&2
    done
    return 1
  fi
}

# -O0 -g1 (line tables): this build compiles everything, gRPC adapters
# included, and these flags halve its compile time; reports still name
# file:line.
run_asan() {
  local build=build-asan
  local flags="-fsanitize=address,undefined -fno-sanitize-recover=all"
  flags+=" -fno-omit-frame-pointer"
  say "configuring $build (ASan + UBSan)"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null ||
    return 1
  local logs="$ROOT/$build/sanitizer-logs"
  rm -rf "$logs" && mkdir -p "$logs"
  # Third-party leaks, reported at exit of any process using a gRPC channel.
  cat >"$build/lsan.supp" <<'EOF'
# c-ares (Debian's libcares2, gRPC's DNS resolver) keeps a few bytes per
# resolver past exit; nothing of ours is on those stacks.
leak:libcares.so
EOF
  # halt_on_error: a UBSan finding fails the process that made it.
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
  export LSAN_OPTIONS="suppressions=$ROOT/$build/lsan.supp:print_suppressions=0"
  local asan="detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
  export ASAN_OPTIONS="$asan:log_path=$logs/asan"
  say "building $build"
  cmake --build "$build" -j"$JOBS" || return 1
  # gtest_discover_tests ran the binaries while building; keep only what
  # ctest's runs report.
  rm -rf "$logs" && mkdir -p "$logs"
  say "running every test under ASan + UBSan"
  local rc=0
  # The long fault tests, shorter: ASan is about memory errors, which show
  # in seconds; the full lengths run in the normal build.
  (cd "$build" && GATEHOUSE_SOAK_SECONDS=${GATEHOUSE_SOAK_SECONDS:-15} \
    GATEHOUSE_CRASH_KILLS=${GATEHOUSE_CRASH_KILLS:-5} \
    ctest --output-on-failure -j"$JOBS" --timeout 900 \
    -E "$ASAN_RSS_TESTS_REGEX" -LE '^chart$') || rc=$?
  # Tests that bound the server's memory (RSS): ASan's quarantine of freed
  # memory (256 MB by default) would count against them, so they run with
  # none; every other check stays on.
  say "running the memory-bound tests (-R '$ASAN_RSS_TESTS_REGEX') with no quarantine"
  (cd "$build" && ASAN_OPTIONS="$asan:quarantine_size_mb=0:log_path=$logs/asan" \
    GATEHOUSE_SOAK_SECONDS=${GATEHOUSE_SOAK_SECONDS:-15} \
    ctest --output-on-failure --timeout 900 -R "$ASAN_RSS_TESTS_REGEX") || rc=$?
  check_logs "$logs" || rc=1
  unset UBSAN_OPTIONS ASAN_OPTIONS LSAN_OPTIONS
  return $rc
}

run_tsan() {
  local build=build-tsan
  local flags="-fsanitize=thread -fno-omit-frame-pointer"
  say "configuring $build (TSan)"
  mkdir -p "$build"
  local shim="$ROOT/$build/absl_mutex_tsan_shim.o"
  build_tsan_shim "$shim" || return 1
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread $shim -labsl_synchronization$TSAN_WRAP_FLAGS" \
    -DGATEHOUSE_TEST_DIRS="$TSAN_TEST_DIRS" >/dev/null || return 1
  local logs="$ROOT/$build/sanitizer-logs"
  say "building ${TSAN_TARGETS[*]}"
  cmake --build "$build" -j"$JOBS" --target "${TSAN_TARGETS[@]}" || return 1
  check_tsan_shim_covers "$build" || return 1
  rm -rf "$logs" && mkdir -p "$logs"
  cat >"$build/tsan.supp" <<'EOF'
# gRPC hands its call objects, reactors and completion-queue ops between
# threads inside its uninstrumented library, so TSan sees no order between
# the code of gRPC's headers inlined into our binaries on either side: the
# std:: and protobuf code it runs on a completed op, inside
# CompletionQueue::Next (the client's coalescer polls a queue), and in a
# callback call's completion tags and interceptor set-up. Our code runs on
# none of these stacks (the unary handlers are called from
# CallbackUnaryHandler::RunHandler; the coalescer's Complete() after Next
# returns), so a race in it is still reported: a deliberate one in
# RateLimiterService::Handle was, under the sign-in flow's concurrent
# Records. (Not race_top:^grpc::, which also matches our own templates that
# return a grpc:: type, "grpc::Status gatehouse::...".)
race:grpc::CompletionQueue::AsyncNextInternal
race:grpc::internal::CallbackWithSuccessTag::Run
race:grpc::internal::InterceptorBatchMethodsImpl::InterceptorBatchMethodsImpl
# gRPC's event-engine thread pool queues closures as absl::AnyInvocable,
# whose inline manager functions may resolve to the instrumented copy in our
# binaries; the queue's own lock is in the uninstrumented library. Seen once
# in client_coalescer_test, with both stacks inside ThreadPool::Queue.
race:grpc_event_engine::experimental::ThreadPool::Queue
# The same for the event engine's timers: RunAfter stores a closure that
# Cancel destroys, each under the engine's own (uninstrumented) lock. Seen
# once in ReloadUnderLoadTest (2026-12-07), both stacks inside the engine.
race:grpc_event_engine::experimental::PosixEventEngine::RunAfterInternal
race:grpc_event_engine::experimental::PosixEventEngine::Cancel
# A bidirectional callback call (BatchStream): gRPC's headers set up its
# op tags and reactor on the thread that starts the call and clear them,
# and call OnDone through the reactor's vtable, on another. BatchStreamReactor
# orders its own state with its mutex (OnDone takes it first).
race:grpc::internal::CallbackWithSuccessTag::Clear
race:*ServerCallbackReaderWriterImpl::CallOnDone
EOF
  # ignore_noninstrumented_modules: memmove & co. called from inside the
  # uninstrumented libraries (Abseil's deadlock graph, gRPC) are theirs to
  # synchronise, invisibly to TSan; report only what our code does.
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$ROOT/$build/tsan.supp:log_path=$logs/tsan"
  say "running concurrency tests (-R '$TSAN_TESTS_REGEX') under TSan"
  local rc=0
  (cd "$build" && ctest --output-on-failure -j"$JOBS" --timeout 900 \
    -R "$TSAN_TESTS_REGEX" --no-tests=error) || rc=$?
  check_logs "$logs" || rc=1
  unset TSAN_OPTIONS
  return $rc
}

# Writes and compiles the TSan shim to $1 and sets TSAN_WRAP_FLAGS and
# TSAN_WRAPPED (the wrapped symbols). The shim is generated here rather than
# kept as a source file because the mangled names depend on the inline
# namespace of the installed Abseil ("debian3" in Debian 12's 20220623),
# which is read from the library.
build_tsan_shim() {
  local out=$1
  local lib
  lib=$(g++ -print-file-name=libabsl_synchronization.so)
  ABSL_NS=$(nm -D --defined-only "$lib" |
    sed -n -E 's/.* _ZN4absl(.*)5Mutex4LockEv$/\1/p' | head -1)
  if [[ -z $ABSL_NS ]]; then
    say "cannot find absl::Mutex::Lock in $lib"
    return 1
  fi
  local m="_ZN4absl${ABSL_NS}5Mutex" n="4absl${ABSL_NS}12Notification"
  local cond="ERKNS0_9ConditionE"
  local lock="${m}4LockEv" unlock="${m}6UnlockEv"
  local rlock="${m}10ReaderLockEv" runlock="${m}12ReaderUnlockEv"
  local trylock="${m}7TryLockEv" rtrylock="${m}13ReaderTryLockEv"
  local await="${m}5Await${cond}"
  local await_for="${m}16AwaitWithTimeout${cond}NS0_8DurationE"
  local await_until="${m}17AwaitWithDeadline${cond}NS0_4TimeE"
  local notify="_ZN${n}6NotifyEv"
  local wait="_ZNK${n}19WaitForNotificationEv"
  local wait_for="_ZNK${n}30WaitForNotificationWithTimeoutENS0_8DurationE"
  local wait_until="_ZNK${n}31WaitForNotificationWithDeadlineENS0_4TimeE"
  TSAN_WRAPPED=("$lock" "$unlock" "$rlock" "$runlock" "$trylock" "$rtrylock"
    "$await" "$await_for" "$await_until" "$notify" "$wait" "$wait_for"
    "$wait_until")
  TSAN_WRAP_FLAGS=""
  local defined s
  defined=$(nm -D --defined-only "$lib")
  for s in "${TSAN_WRAPPED[@]}"; do
    if ! grep -q " $s\$" <<<"$defined"; then
      say "cannot find $s in $lib"
      return 1
    fi
    TSAN_WRAP_FLAGS+=" -Wl,--wrap=$s"
  done
  cat >"${out%.o}.cc" <<EOF
// Generated by scripts/sanitize.sh: the TSan annotations that an Abseil
// built with -fsanitize=thread makes itself, around the absl::Mutex and
// absl::Notification members our code calls. Linked with -Wl,--wrap=SYMBOL,
// so only calls from our (instrumented) code pass through here;
// check_tsan_shim_covers fails the run if our code calls one not wrapped.
#include <sanitizer/tsan_interface.h>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

using absl::Condition;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;

namespace {
void Acquired(void* mu, unsigned flags = 0) {
  __tsan_mutex_pre_lock(mu, flags);
  __tsan_mutex_post_lock(mu, flags, 0);
}
void Released(void* mu, unsigned flags = 0) {
  __tsan_mutex_pre_unlock(mu, flags);
  __tsan_mutex_post_unlock(mu, flags);
}
// A waiter's condition, which Abseil evaluates holding the lock (in the
// waiting thread, or in the one unlocking): TSan must see the lock held.
struct HeldCondition {
  const Condition* condition;
  Mutex* mu;
};
bool EvalHeld(void* arg) {
  const auto* held = static_cast<const HeldCondition*>(arg);
  Acquired(held->mu);
  const bool result = held->condition->Eval();
  Released(held->mu);
  return result;
}
// Waiting releases the lock and takes it back before returning; other
// threads hold it in between.
template <typename Wait>
bool AwaitHeld(Mutex* mu, const Condition& condition, Wait wait) {
  HeldCondition held{&condition, mu};
  const Condition wrapped(&EvalHeld, &held);
  Released(mu);
  const bool result = wait(wrapped);
  Acquired(mu);
  return result;
}
// HasBeenNotified() is inline (compiled into our code, so instrumented): it
// loads Notification::notified_yet_, which follows the Mutex, with acquire.
static_assert(sizeof(Notification) == 2 * sizeof(void*),
              "absl::Notification is no longer {Mutex, atomic<bool>}");
void* NotifiedYet(Notification* n) {
  return reinterpret_cast<char*>(n) + sizeof(Mutex);
}
}  // namespace

extern "C" {
void __real_$lock(Mutex*);
void __real_$unlock(Mutex*);
void __real_$rlock(Mutex*);
void __real_$runlock(Mutex*);
bool __real_$trylock(Mutex*);
bool __real_$rtrylock(Mutex*);
void __real_$await(Mutex*, const Condition&);
bool __real_$await_for(Mutex*, const Condition&, Duration);
bool __real_$await_until(Mutex*, const Condition&, Time);
void __real_$notify(Notification*);
void __real_$wait(const Notification*);
bool __real_$wait_for(const Notification*, Duration);
bool __real_$wait_until(const Notification*, Time);

void __wrap_$lock(Mutex* mu) {
  __tsan_mutex_pre_lock(mu, 0);
  __real_$lock(mu);
  __tsan_mutex_post_lock(mu, 0, 0);
}
void __wrap_$unlock(Mutex* mu) {
  __tsan_mutex_pre_unlock(mu, 0);
  __real_$unlock(mu);
  __tsan_mutex_post_unlock(mu, 0);
}
void __wrap_$rlock(Mutex* mu) {
  __tsan_mutex_pre_lock(mu, __tsan_mutex_read_lock);
  __real_$rlock(mu);
  __tsan_mutex_post_lock(mu, __tsan_mutex_read_lock, 0);
}
void __wrap_$runlock(Mutex* mu) {
  __tsan_mutex_pre_unlock(mu, __tsan_mutex_read_lock);
  __real_$runlock(mu);
  __tsan_mutex_post_unlock(mu, __tsan_mutex_read_lock);
}
bool __wrap_$trylock(Mutex* mu) {
  __tsan_mutex_pre_lock(mu, __tsan_mutex_try_lock);
  const bool locked = __real_$trylock(mu);
  __tsan_mutex_post_lock(
      mu, __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed),
      0);
  return locked;
}
bool __wrap_$rtrylock(Mutex* mu) {
  const unsigned flags = __tsan_mutex_read_lock | __tsan_mutex_try_lock;
  __tsan_mutex_pre_lock(mu, flags);
  const bool locked = __real_$rtrylock(mu);
  __tsan_mutex_post_lock(
      mu, flags | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}
void __wrap_$await(Mutex* mu, const Condition& condition) {
  AwaitHeld(mu, condition, [mu](const Condition& c) {
    __real_$await(mu, c);
    return true;
  });
}
bool __wrap_$await_for(Mutex* mu, const Condition& condition,
                       Duration timeout) {
  return AwaitHeld(mu, condition, [mu, timeout](const Condition& c) {
    return __real_$await_for(mu, c, timeout);
  });
}
bool __wrap_$await_until(Mutex* mu, const Condition& condition,
                         Time deadline) {
  return AwaitHeld(mu, condition, [mu, deadline](const Condition& c) {
    return __real_$await_until(mu, c, deadline);
  });
}
// Notify happens before every wait that sees it.
void __wrap_$notify(Notification* n) {
  __tsan_release(n);
  __tsan_release(NotifiedYet(n));
  __real_$notify(n);
}
void __wrap_$wait(const Notification* n) {
  __real_$wait(n);
  __tsan_acquire(const_cast<Notification*>(n));
}
bool __wrap_$wait_for(const Notification* n, Duration timeout) {
  const bool notified = __real_$wait_for(n, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(n));
  return notified;
}
bool __wrap_$wait_until(const Notification* n, Time deadline) {
  const bool notified = __real_$wait_until(n, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(n));
  return notified;
}
}
EOF
  g++ -std=c++17 -O1 -g -fsanitize=thread -c "${out%.o}.cc" -o "$out"
}

# Fails when an object of ours in build dir $1 calls a member of
# absl::Mutex, absl::Notification or absl::CondVar that synchronises but is
# not wrapped by the shim: TSan would not see that lock change hands, and
# would report races (or a "double lock") that are not there, or miss real
# ones.
check_tsan_shim_covers() {
  local build=$1
  # Members that do not synchronise: destructors, assertions, debug switches.
  local quiet='(D[12]Ev|Assert(Reader|Not)?HeldEv|EnableDebugLog|EnableInvariantDebugging|ForgetDeadlockInfoEv|HasBeenNotifiedInternal)'
  local called sym w wrapped missing=""
  called=$(find "$build" -name '*.o' ! -name 'absl_mutex_tsan_shim.o' \
    -exec nm -u {} + 2>/dev/null |
    sed -n -E "s/^ *U (_ZN?K?4absl${ABSL_NS}(5Mutex|12Notification|7CondVar).*)/\1/p" |
    sort -u)
  for sym in $called; do
    wrapped=0
    for w in "${TSAN_WRAPPED[@]}"; do [[ $sym == "$w" ]] && wrapped=1; done
    if ((wrapped == 0)) && ! [[ $sym =~ $quiet ]]; then missing+=" $sym"; fi
  done
  if [[ -n $missing ]]; then
    say "our code calls absl synchronisation that the TSan shim does not wrap:"
    for sym in $missing; do echo "  $(c++filt "$sym")" >&2; done
    say "wrap them in build_tsan_shim"
    return 1
  fi
  say "the TSan shim wraps all $(wc -w <<<"$called") absl synchronisation members our code calls"
}

modes=("$@")
if ((${#modes[@]} == 0)); then modes=(asan tsan); fi
status=0
for mode in "${modes[@]}"; do
  start=$SECONDS
  case "$mode" in
    asan) run_asan || status=1 ;;
    tsan) run_tsan || status=1 ;;
    *) say "unknown mode '$mode' (asan, tsan)"; exit 2 ;;
  esac
  say "$mode finished in $((SECONDS - start)) s"
done
if ((status != 0)); then say "FAILED"; else say "clean"; fi
exit $status
