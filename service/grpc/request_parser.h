#ifndef GATEHOUSE_SERVICE_GRPC_REQUEST_PARSER_H_
#define GATEHOUSE_SERVICE_GRPC_REQUEST_PARSER_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "service/logging/log_rate_limiter.h"

namespace gatehouse {

// The services take their request bodies raw (grpc::ByteBuffer) and parse
// them here, so that a body protobuf cannot parse is answered
// INVALID_ARGUMENT saying what is wrong, counted and logged like any other
// refusal, instead of gRPC's bare UNIMPLEMENTED before any handler runs.
//
// A server-streaming method is made raw by emptying its generated slot and
// adding a method of the same name with a ByteBuffer request (still
// synchronous and server-streaming: no thread waits for the request).
// ServerBuilder accepts an empty slot only with a generic service, so a
// server of RateLimiterService or AuditService must also register a
// grpc::CallbackGenericService (whose default answers unknown methods
// UNIMPLEMENTED, as gRPC does without one), outliving the server.

// The index of `method` among the methods of `service` (full name), as the
// generated grpc::Service numbers them (proto order). REQUIRES: both exist
// in the generated descriptor pool (checked: aborts otherwise).
int GeneratedMethodIndex(const char* service, const char* method);

// Parses `body` into `request` (cleared first): OK, or INVALID_ARGUMENT
// "request body is not a valid <type>: <FindWireProblem()>". The body is
// checked before protobuf sees it, so protobuf never logs (unbounded) about
// invalid UTF-8 an attacker sent.
absl::Status ParseRequest(const grpc::ByteBuffer& body,
                          google::protobuf::Message* request);

// The answer to a call whose body ParseRequest() refused with `status`:
// logged as a refusal of `method` (paced by `log_limiter`, which may be null:
// log every one) and returned as the call's grpc::Status. The caller's call
// metrics count it like any other INVALID_ARGUMENT.
grpc::Status RefuseUnparsable(LogRateLimiter* log_limiter, const char* method,
                              const absl::Status& status,
                              const grpc::ServerContextBase& context);

// What makes `bytes` an invalid `type`, found by walking the wire format
// against the descriptor, named by field path where it can be known (e.g.
// `subjects[0].key["user"]: invalid UTF-8`, `subjects[1].policy: truncated`,
// `context["caf\xe9"] (map key): invalid UTF-8`), otherwise by byte offset.
// Map keys are shown escaped, cut to 64 bytes; no other value is echoed.
// Empty when the walk finds nothing wrong.
std::string FindWireProblem(absl::string_view bytes,
                            const google::protobuf::Descriptor& type);

// True when no byte of `s` is over 0x7f.
bool IsAscii(absl::string_view s);

// True when `s` is valid UTF-8 as protobuf checks it for `string` fields
// (no overlong forms, surrogates or code points above U+10FFFF).
bool IsValidUtf8(absl::string_view s);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_REQUEST_PARSER_H_
