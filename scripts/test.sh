#!/usr/bin/env bash
# The README's "test" command: installs what is missing, builds, runs every
# test with ctest, then each fuzz target for a bounded time
# (GATEHOUSE_FUZZ_SECONDS, default 30). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j"$(nproc)" --timeout 600)
# libFuzzer over the policy and credentials parsers, request validation + key
# derivation and the storage codec (clang, ASan + UBSan), bounded per target.
./scripts/fuzz.sh "${GATEHOUSE_FUZZ_SECONDS:-30}"
