#include "service/grpc/reflection_mode.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/grpc/server_credentials.h"

namespace gatehouse {
namespace {

// The name gRPC's ProtoServerReflectionPlugin reports.
constexpr char kReflectionPlugin[] = "proto_server_reflection";

class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const auto& plugin) {
                                    return plugin->name() == kReflectionPlugin;
                                  }),
                   plugins->end());
  }
};

}  // namespace

absl::StatusOr<bool> ReflectionEnabled(absl::string_view mode,
                                       const std::string& listen) {
  if (mode == "on") return true;
  if (mode == "off") return false;
  if (mode == "auto") return IsLoopbackListen(listen);
  return absl::InvalidArgumentError(
      absl::StrCat("--reflection: \"", mode, "\" is not one of auto, on, off"));
}

void ConfigureReflection(bool enabled, grpc::ServerBuilder& builder) {
  if (enabled) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  } else {
    builder.SetOption(std::make_unique<WithoutReflection>());
  }
}

}  // namespace gatehouse
