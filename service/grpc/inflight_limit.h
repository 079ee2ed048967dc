#ifndef GATEHOUSE_SERVICE_GRPC_INFLIGHT_LIMIT_H_
#define GATEHOUSE_SERVICE_GRPC_INFLIGHT_LIMIT_H_

#include <atomic>

namespace gatehouse {

// Bounds the calls the server works on at once. Beyond the bound a call is
// refused at once (the caller answers RESOURCE_EXHAUSTED) rather than queued
// behind the others: under a flood, admitted calls keep their latency,
// memory stays bounded, and callers get a fast error they can back off on.
//
// Thread-safe and lock-free; permits must not outlive the limit.
class InflightLimit {
 public:
  // 0 means no bound.
  explicit InflightLimit(int max) : max_(max) {}
  InflightLimit(const InflightLimit&) = delete;
  InflightLimit& operator=(const InflightLimit&) = delete;

  // One admitted call; releases its slot on destruction. Empty (false) when
  // the call was refused.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept : limit_(other.limit_) {
      other.limit_ = nullptr;
    }
    Permit& operator=(Permit&&) = delete;
    Permit(const Permit&) = delete;
    ~Permit() {
      if (limit_ != nullptr) limit_->inflight_.fetch_sub(1);
    }
    explicit operator bool() const { return limit_ != nullptr; }

   private:
    friend class InflightLimit;
    explicit Permit(InflightLimit* limit) : limit_(limit) {}
    InflightLimit* limit_ = nullptr;
  };

  // A permit, or an empty one when max() calls already hold one.
  Permit TryAcquire() {
    if (inflight_.fetch_add(1) >= max_ && max_ > 0) {
      inflight_.fetch_sub(1);
      return Permit();
    }
    return Permit(this);
  }

  int max() const { return max_; }
  int inflight() const { return inflight_.load(); }

 private:
  const int max_;
  std::atomic<int> inflight_{0};
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_INFLIGHT_LIMIT_H_
