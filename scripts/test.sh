#!/usr/bin/env bash
# The README's "test" command: installs what is missing, builds, and runs
#   1. every test with ctest (unit, service, integration and fault tests
#      against the real binary, chart, fuzz seeds, bench smoke);
#   1b. the Node client's tests (client/node, its packages installed by
#      install-deps.sh from the committed lockfile): node --test against
#      the binary just built;
#   2. each libFuzzer target for GATEHOUSE_FUZZ_SECONDS (default 30);
#   3. the ASan + UBSan build of every test and the TSan build of the
#      concurrency tests (scripts/sanitize.sh asan tsan).
# Exits non-zero on any failure. Prints how long each stage took.
#
# GATEHOUSE_SANITIZERS selects the sanitizer stages: "asan tsan" by default
# (CI runs both); an empty value skips them: a local shortcut only.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
stage() { echo "test.sh: $1 done after $((SECONDS - started)) s" >&2; }

./scripts/install-deps.sh
./scripts/build.sh
stage build
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j"$(nproc)" --timeout 600)
stage ctest
# The Node client (@gatehouse/client): its build (types generated from
# proto/ with the system protoc) and its tests against the gatehouse binary
# built above; install-deps.sh installed its packages.
gatehouse_bin="$(cd "${BUILD_DIR:-build}" && pwd)/service/gatehouse"
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "test.sh: the Node client needs Node.js 20 or later and npm" >&2
  exit 1
fi
(
  cd client/node
  GATEHOUSE_BIN="$gatehouse_bin" npm test
)
stage node
# libFuzzer over the policy and credentials parsers, request validation + key
# derivation and the storage codec (clang, ASan + UBSan), bounded per target.
./scripts/fuzz.sh "${GATEHOUSE_FUZZ_SECONDS:-30}"
stage fuzz
sanitizers=${GATEHOUSE_SANITIZERS-asan tsan}
if [[ -n "$sanitizers" ]]; then
  # shellcheck disable=SC2086 # a list of modes
  ./scripts/sanitize.sh $sanitizers
  stage "sanitizers ($sanitizers)"
else
  echo "test.sh: GATEHOUSE_SANITIZERS is empty: sanitizer builds SKIPPED" >&2
fi
