#ifndef GATEHOUSE_SERVICE_CORE_IN_MEMORY_COUNTER_STORE_H_
#define GATEHOUSE_SERVICE_CORE_IN_MEMORY_COUNTER_STORE_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "service/core/counter_store.h"

namespace gatehouse {

// A CounterStore in a std::map: nothing survives the process. For core tests
// and for callers who want no persistence. Thread-safe.
class InMemoryCounterStore final : public CounterStore {
 public:
  absl::StatusOr<std::optional<CounterState>> Read(
      absl::string_view key) override;
  absl::Status Commit(const WriteSet& writes) override;

  // Number of stored states.
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, CounterState, std::less<>> states_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_CORE_IN_MEMORY_COUNTER_STORE_H_
