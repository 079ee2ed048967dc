#include "client/coalescer.h"

#include <algorithm>
#include <deque>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/thread_handoff.h"
#include "grpcpp/completion_queue.h"

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

// One Batch RPC in flight; gRPC needs these alive until its completion
// comes out of the completion queue (tagged with the InFlight's address).
struct InFlight {
  grpc::ClientContext context;
  v1::BatchRequest request;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::BatchResponse>> reader;
  v1::BatchResponse response;
  grpc::Status status;
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

// The queue, the batches in flight and the two threads: the sender forms
// and starts batches, the receiver takes their completions off a completion
// queue of our own. (Not gRPC's callback API: in gRPC 1.51, destroying the
// channel right after a callback has run races with gRPC's callback threads.)
class Coalescer::Core {
 public:
  Core(v1::RateLimiter::Stub* stub, absl::Duration linger, size_t max_batch,
       std::string authorization)
      : stub_(stub),
        linger_(linger),
        max_batch_(max_batch),
        authorization_(std::move(authorization)),
        sender_([this] { SendLoop(); }),
        receiver_([this] { ReceiveLoop(); }) {}

  // Sends what is queued, cancels the batches in flight, and returns once
  // every completion has been handled.
  ~Core() {
    {
      absl::MutexLock lock(&mu_);
      shutdown_ = true;
    }
    sender_.join();
    {
      // Completions only come out of cq_ on the receiver, never inline, so
      // the calls stay alive while mu_ is held.
      absl::MutexLock lock(&mu_);
      for (const auto& [raw, call] : in_flight_) call->context.TryCancel();
    }
    cq_.Shutdown();  // The receiver drains it, then returns.
    receiver_.join();
  }

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

 private:
  // Until shut down, then sends what is left and returns.
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

  void ReceiveLoop() {
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
      TakeOver(tag);
      Complete(static_cast<InFlight*>(tag));
    }
  }

  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ || !queue_.empty();
  }
  bool FullOrShutdown() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ || queue_.size() >= max_batch_;
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
    auto call = std::make_unique<InFlight>();
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
    raw->reader = stub_->AsyncBatch(&raw->context, raw->request, &cq_);
    HandOff(raw);  // To ReceiveLoop, through the completion queue.
    raw->reader->Finish(&raw->response, &raw->status, raw);
  }

  // A batch finished: hands every item its result.
  void Complete(InFlight* call) {
    const int results = call->response.results_size();
    for (size_t i = 0; i < call->items.size(); ++i) {
      Pending& pending = *call->items[i];
      if (!call->status.ok()) {
        pending.status = call->status;
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
    std::unique_ptr<InFlight> finished;
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
  grpc::CompletionQueue cq_;

  absl::Mutex mu_;
  std::deque<std::shared_ptr<Pending>> queue_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::map<InFlight*, std::unique_ptr<InFlight>> in_flight_
      ABSL_GUARDED_BY(mu_);

  // Last: they start in the constructor and use everything above.
  std::thread sender_;
  std::thread receiver_;
};

Coalescer::Coalescer(v1::RateLimiter::Stub* stub, absl::Duration linger,
                     size_t max_batch, std::string authorization)
    : core_(std::make_unique<Core>(stub, linger, max_batch,
                                   std::move(authorization))) {}

Coalescer::~Coalescer() = default;

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
