#!/bin/sh
# Generates the message types and the grpc-js service clients of
# proto/gatehouse/v1 into src/gen (not committed) with ts-proto, through the
# system protoc (Debian's protobuf-compiler, also used by the C++ build).
set -eu
cd "$(dirname "$0")/.."
proto_root=../../proto
rm -rf src/gen
mkdir -p src/gen
protoc \
  --plugin=protoc-gen-ts_proto=./node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out=src/gen \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,importSuffix=.js,forceLong=number,useDate=true,oneof=unions-value,env=node \
  -I "$proto_root" \
  "$proto_root/gatehouse/v1/ratelimit.proto" "$proto_root/gatehouse/v1/audit.proto"
