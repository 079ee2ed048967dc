#ifndef GATEHOUSE_BENCH_CLIENT_LOAD_H_
#define GATEHOUSE_BENCH_CLIENT_LOAD_H_

#include <memory>

#include "bench/load_loop.h"
#include "client/client.h"

namespace gatehouse::bench {

// Drives `workload` the way an API process does: options.inflight threads,
// each making blocking calls through one shared gatehouse::Client (which
// may coalesce concurrent calls into Batch RPCs). Latency is per call, as
// the calling thread sees it. options.rate is ignored.
LoadResult RunClientLoad(const LoadOptions& options, Workload& workload,
                         const Client& client);

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_CLIENT_LOAD_H_
