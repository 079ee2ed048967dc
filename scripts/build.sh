#!/usr/bin/env bash
# Configures and builds Gatehouse into ${BUILD_DIR:-build}. Extra arguments
# are passed to `cmake --build` (e.g. --target gatehouse).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" "$@"
