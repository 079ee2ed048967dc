#ifndef GATEHOUSE_SERVICE_FLAGS_H_
#define GATEHOUSE_SERVICE_FLAGS_H_

#include <string>

#include "service/server/gatehouse_server.h"

namespace gatehouse {

// The gatehouse binary's flags (flags.cc defines them, with their help
// text) as the server's options.
GatehouseServerOptions OptionsFromFlags();

// --log_level.
std::string LogLevelFlag();

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_FLAGS_H_
