#ifndef GATEHOUSE_SERVICE_CORE_STORE_H_
#define GATEHOUSE_SERVICE_CORE_STORE_H_

#include "service/core/audit_log.h"
#include "service/core/counter_store.h"
#include "service/core/store_maintenance.h"

namespace gatehouse {

// A durable store as its open function returns it (OpenRocksDbStore): the
// counter store, its audit log and its maintenance, three views of the same
// data. Owns them; they are valid while it lives. Thread-safe as its parts
// are.
class Store {
 public:
  virtual ~Store() = default;

  virtual CounterStore& counters() = 0;
  virtual AuditLog& audit_log() = 0;
  virtual StoreMaintenance& maintenance() = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_STORE_H_
