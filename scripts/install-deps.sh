#!/usr/bin/env bash
# Installs the Debian 12 packages Gatehouse needs to build and test, only
# when some are missing. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  g++ cmake make pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev librocksdb-dev libspdlog-dev libyaml-cpp-dev libssl-dev
  libgtest-dev libgmock-dev openssl
  # Metrics endpoint (civetweb); promtool + Prometheus and the Go chart
  # renderer (text/template + sprig, YAML, JSON schema) for tests.
  libcivetweb-dev prometheus golang-go golang-github-masterminds-sprig-dev
  golang-gopkg-yaml.v3-dev golang-github-xeipuuv-gojsonschema-dev
  # Fuzzing (scripts/fuzz.sh): clang and libFuzzer + sanitizer runtimes.
  clang libclang-rt-14-dev
  # The benchmark (bench/run.sh): its Redis + Lua baseline and the hiredis
  # client the load generator reaches it with; perf for the profiles that
  # bench/RESULTS.md records.
  redis-server libhiredis-dev linux-perf
  # Developer tools the project's conventions rely on: clang-format for the
  # checked-in .clang-format, shellcheck for the scripts. The C++ machine
  # kind came with them; other kinds do not.
  clang-format shellcheck
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
