#ifndef GATEHOUSE_SERVICE_GRPC_REFLECTION_MODE_H_
#define GATEHOUSE_SERVICE_GRPC_REFLECTION_MODE_H_

#include <grpcpp/server_builder.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// Whether gRPC server reflection is served, from the --reflection flag:
// "on", "off", or "auto" (on only for a loopback --listen). gRPC's
// reflection service runs outside Gatehouse's call pipeline, so it answers
// without a token; off loopback it is therefore off unless asked for.
// INVALID_ARGUMENT naming the flag for any other value.
absl::StatusOr<bool> ReflectionEnabled(absl::string_view mode,
                                       const std::string& listen);

// Serves reflection from the server `builder` builds, or not. Linking gRPC's
// reflection library registers its plugin for every builder, so "not" takes
// the plugin out of this builder's list.
void ConfigureReflection(bool enabled, grpc::ServerBuilder& builder);

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_REFLECTION_MODE_H_
