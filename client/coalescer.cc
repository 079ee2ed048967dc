#include "client/coalescer.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace gatehouse {
namespace {

// One caller's item, from Submit() until its result is delivered.
struct Pending {
  // Set before queuing; then only the sender reads them.
  v1::BatchItem item;
  size_t subjects = 0;
  size_t bytes = 0;
  absl::Time enqueued;
  absl::Time deadline;
  // Guarded by Core::mu_: taken into a batch (the caller can no longer
  // withdraw it).
  bool sent = false;
  // status and result are written once, before done is notified.
  absl::Notification done;
  grpc::Status status;
  v1::BatchResult result;
};

// One Batch RPC in flight; gRPC needs these alive until its callback.
struct InFlight {
  grpc::ClientContext context;
  v1::BatchRequest request;
  v1::BatchResponse response;
  std::vector<std::shared_ptr<Pending>> items;
};

size_t SubjectsOf(const v1::BatchItem& item) {
  switch (item.request_case()) {
    case v1::BatchItem::kCheck:
      return item.check().subjects_size();
    case v1::BatchItem::kPeek:
      return item.peek().subjects_size();
    case v1::BatchItem::kRecord:
      return item.record().subjects_size();
    case v1::BatchItem::kReset:
      return item.reset().subjects_size();
    case v1::BatchItem::REQUEST_NOT_SET:
      break;
  }
  return 0;
}

grpc::Status Mismatch() {
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      "Batch answered an item with a response of another kind");
}

}  // namespace

// The queue and the batches in flight. Owned jointly by the Coalescer and
// the callbacks of its batches in flight.
class Coalescer::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(v1::RateLimiter::Stub* stub, absl::Duration linger, size_t max_batch,
       std::string authorization)
      : stub_(stub),
        linger_(linger),
        max_batch_(max_batch),
        authorization_(std::move(authorization)) {}

  void Enqueue(std::shared_ptr<Pending> pending) {
    absl::MutexLock lock(&mu_);
    pending->enqueued = absl::Now();
    queue_.push_back(std::move(pending));
  }

  // Drops `pending` from the queue unless a batch already took it.
  void Withdraw(const std::shared_ptr<Pending>& pending) {
    absl::MutexLock lock(&mu_);
    if (pending->sent) return;
    queue_.erase(std::find(queue_.begin(), queue_.end(), pending));
  }

  // The sender thread: forms and starts batches until Shutdown(), then
  // sends what is left and returns.
  void SendLoop() {
    mu_.Lock();
    while (true) {
      mu_.Await(absl::Condition(this, &Core::HasWork));
      if (queue_.empty()) break;  // Shut down with nothing left to send.
      if (!shutdown_) {
        mu_.AwaitWithDeadline(absl::Condition(this, &Core::FullOrShutdown),
                              queue_.front()->enqueued + linger_);
      }
      std::vector<std::shared_ptr<Pending>> batch = TakeBatch();
      if (batch.empty()) continue;  // Every queued caller gave up.
      mu_.Unlock();
      Start(std::move(batch));
      mu_.Lock();
    }
    mu_.Unlock();
  }

  void Shutdown() {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
  }

  // Cancels the batches in flight and waits for their callbacks.
  void CancelAndWait() {
    std::vector<std::shared_ptr<InFlight>> calls;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [raw, call] : in_flight_) calls.push_back(call);
    }
    // Outside mu_: a cancelled call's callback takes it.
    for (const auto& call : calls) call->context.TryCancel();
    calls.clear();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Core::Idle));
  }

 private:
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ || !queue_.empty();
  }
  bool FullOrShutdown() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ || queue_.size() >= max_batch_;
  }
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_.empty();
  }

  // Takes the oldest items, up to the batch limits (always at least one).
  std::vector<std::shared_ptr<Pending>> TakeBatch()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::shared_ptr<Pending>> batch;
    size_t subjects = 0, bytes = 0;
    while (!queue_.empty() && batch.size() < max_batch_) {
      Pending& next = *queue_.front();
      if (!batch.empty() && (subjects + next.subjects > kMaxSubjects ||
                             bytes + next.bytes > kMaxBytes)) {
        break;
      }
      subjects += next.subjects;
      bytes += next.bytes;
      next.sent = true;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return batch;
  }

  void Start(std::vector<std::shared_ptr<Pending>> batch) {
    auto call = std::make_shared<InFlight>();
    absl::Time deadline = absl::InfinitePast();
    call->request.mutable_items()->Reserve(static_cast<int>(batch.size()));
    for (const std::shared_ptr<Pending>& pending : batch) {
      deadline = std::max(deadline, pending->deadline);
      *call->request.add_items() = std::move(pending->item);
    }
    call->context.set_deadline(absl::ToChronoTime(deadline));
    if (!authorization_.empty()) {
      call->context.AddMetadata("authorization", authorization_);
    }
    call->items = std::move(batch);
    InFlight* raw = call.get();
    {
      absl::MutexLock lock(&mu_);
      in_flight_.emplace(raw, std::move(call));
    }
    stub_->async()->Batch(&raw->context, &raw->request, &raw->response,
                          [core = shared_from_this(), raw](grpc::Status s) {
                            core->Complete(raw, s);
                          });
  }

  // The callback of a batch: hands every item its result.
  void Complete(InFlight* call, const grpc::Status& status) {
    const int results = call->response.results_size();
    for (size_t i = 0; i < call->items.size(); ++i) {
      Pending& pending = *call->items[i];
      if (!status.ok()) {
        pending.status = status;
      } else if (static_cast<int>(i) >= results) {
        pending.status = grpc::Status(
            grpc::StatusCode::INTERNAL,
            absl::StrCat("Batch answered ", results, " results for ",
                         call->items.size(), " items"));
      } else {
        v1::BatchResult& result = *call->response.mutable_results(i);
        if (result.status().code() != grpc::StatusCode::OK) {
          pending.status = grpc::Status(
              static_cast<grpc::StatusCode>(result.status().code()),
              result.status().message());
        } else {
          pending.result.Swap(&result);
        }
      }
      pending.done.Notify();
    }
    // Frees the call here, unless CancelAndWait() holds it for a moment.
    std::shared_ptr<InFlight> finished;
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(call);
    finished = std::move(it->second);
    in_flight_.erase(it);
  }

  // Constant after construction.
  v1::RateLimiter::Stub* const stub_;
  const absl::Duration linger_;
  const size_t max_batch_;
  const std::string authorization_;

  absl::Mutex mu_;
  std::deque<std::shared_ptr<Pending>> queue_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::map<InFlight*, std::shared_ptr<InFlight>> in_flight_
      ABSL_GUARDED_BY(mu_);
};

Coalescer::Coalescer(v1::RateLimiter::Stub* stub, absl::Duration linger,
                     size_t max_batch, std::string authorization)
    : core_(std::make_shared<Core>(stub, linger, max_batch,
                                   std::move(authorization))),
      sender_([core = core_.get()] { core->SendLoop(); }) {}

Coalescer::~Coalescer() {
  core_->Shutdown();
  sender_.join();
  core_->CancelAndWait();
}

grpc::Status Coalescer::Submit(const grpc::ClientContext& context,
                               v1::BatchItem item, v1::BatchResult* result) {
  auto pending = std::make_shared<Pending>();
  pending->deadline = absl::FromChrono(context.deadline());
  pending->subjects = SubjectsOf(item);
  pending->bytes = item.ByteSizeLong();
  pending->item = std::move(item);
  core_->Enqueue(pending);
  if (!pending->done.WaitForNotificationWithDeadline(pending->deadline)) {
    core_->Withdraw(pending);
    // The batch may have answered in the meantime; otherwise give up.
    if (!pending->done.HasBeenNotified()) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "Deadline Exceeded");
    }
  }
  if (!pending->status.ok()) return pending->status;
  result->Swap(&pending->result);
  return grpc::Status::OK;
}

grpc::Status Coalescer::Check(const grpc::ClientContext& context,
                              const v1::CheckRequest& request,
                              v1::CheckResponse* response) {
  v1::BatchItem item;
  *item.mutable_check() = request;
  v1::BatchResult result;
  grpc::Status status = Submit(context, std::move(item), &result);
  if (status.ok() && !result.has_check()) status = Mismatch();
  if (status.ok()) response->Swap(result.mutable_check());
  return status;
}

grpc::Status Coalescer::Peek(const grpc::ClientContext& context,
                             const v1::PeekRequest& request,
                             v1::PeekResponse* response) {
  v1::BatchItem item;
  *item.mutable_peek() = request;
  v1::BatchResult result;
  grpc::Status status = Submit(context, std::move(item), &result);
  if (status.ok() && !result.has_peek()) status = Mismatch();
  if (status.ok()) response->Swap(result.mutable_peek());
  return status;
}

grpc::Status Coalescer::Record(const grpc::ClientContext& context,
                               const v1::RecordRequest& request,
                               v1::RecordResponse* response) {
  v1::BatchItem item;
  *item.mutable_record() = request;
  v1::BatchResult result;
  grpc::Status status = Submit(context, std::move(item), &result);
  if (status.ok() && !result.has_record()) status = Mismatch();
  if (status.ok()) response->Swap(result.mutable_record());
  return status;
}

grpc::Status Coalescer::Reset(const grpc::ClientContext& context,
                              const v1::ResetRequest& request,
                              v1::ResetResponse* response) {
  v1::BatchItem item;
  *item.mutable_reset() = request;
  v1::BatchResult result;
  grpc::Status status = Submit(context, std::move(item), &result);
  if (status.ok() && !result.has_reset()) status = Mismatch();
  if (status.ok()) response->Swap(result.mutable_reset());
  return status;
}

}  // namespace gatehouse
