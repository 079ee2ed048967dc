#include "service/grpc/batch_stream.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <deque>

#include "service/grpc/batch_call.h"

namespace gatehouse {
namespace {

constexpr char kMethod[] = "BatchStream";

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server shutting down; reconnect");
}

}  // namespace

// One stream. Its states: reading (a read outstanding), deciding (a message
// on the pipeline), paused (neither: kMaxQueuedAnswers answers queued), and
// ending (a status chosen; it is sent once nothing is decided or written).
// gRPC calls OnReadDone, OnWriteDone and OnCancel concurrently, and the
// pipeline answers on its own thread: mu_ orders them all. Finish is called
// outside mu_, since OnDone may delete the reactor as soon as it is.
class BatchStreamReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  BatchStreamReactor(const CallPipeline* pipeline, BatchStreams* streams,
                     grpc::CallbackServerContext* context)
      : pipeline_(pipeline), streams_(streams), context_(context) {}

  // Starts reading; the reactor must be in its BatchStreams already.
  void Start() {
    absl::MutexLock lock(&mu_);
    if (ending_) return;
    reading_ = true;
    StartRead(&in_);
  }

  // Ends the stream with UNAVAILABLE (see BatchStreams::CloseAll).
  void Close() {
    bool finish;
    {
      absl::MutexLock lock(&mu_);
      finish = EndLocked(ShuttingDown());
    }
    if (finish) Finish(end_status_);
  }

  void OnReadDone(bool ok) override {
    bool finish = false;
    bool decide = false;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (!ok) {
        // The client half-closed, or the call is gone.
        finish = EndLocked(grpc::Status::OK);
      } else if (ending_) {
        // A message read after the end was chosen is never decided.
        finish = ShouldFinishLocked();
      } else {
        decide = deciding_ = true;
      }
    }
    if (finish) Finish(end_status_);
    if (!decide) return;
    // Outside mu_: the pipeline may answer inline. Without a pool no
    // thread waits for the message's commit: it is answered by the thread
    // that writes it.
    pipeline_->Dispatch(
        kMethod,
        pipeline_->AnswerAsync<v1::BatchRequest, v1::BatchResponse>(
            *context_, kMethod, &in_, &decided_,
            [this](const v1::BatchRequest& request, v1::BatchResponse* response,
                   CallPipeline::Finisher finish) {
              HandleBatchAsync(*pipeline_, *context_, request, response,
                               std::move(finish));
            }),
        [this](const grpc::Status& status) { Answered(status); });
  }

  void OnWriteDone(bool ok) override {
    bool finish;
    {
      absl::MutexLock lock(&mu_);
      queue_.pop_front();
      if (!ok) {
        // The call is gone: nothing more can be sent.
        queue_.clear();
        writing_ = false;
        finish = EndLocked(grpc::Status(grpc::StatusCode::CANCELLED,
                                        "the answer could not be sent"));
      } else {
        if (queue_.empty()) {
          writing_ = false;
        } else {
          StartWrite(&queue_.front());
        }
        ResumeReadingLocked();
        finish = ShouldFinishLocked();
      }
    }
    if (finish) Finish(end_status_);
  }

  void OnCancel() override {
    bool finish;
    {
      absl::MutexLock lock(&mu_);
      finish = EndLocked(
          grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
    }
    if (finish) Finish(end_status_);
  }

  void OnDone() override {
    // Orders what follows after everything done under mu_ (the constructor's
    // writes are followed by Start or Close; Finish is called after mu_ is
    // released): gRPC's own hand-off to this thread is invisible to
    // ThreadSanitizer.
    { absl::MutexLock lock(&mu_); }
    streams_->Remove(this);
    delete this;
  }

 private:
  // The pipeline's status for the message just decided; its answer is in
  // decided_ when OK.
  void Answered(const grpc::Status& status) {
    bool finish;
    {
      absl::MutexLock lock(&mu_);
      deciding_ = false;
      if (!status.ok()) {
        decided_.Clear();
        finish = EndLocked(status);
      } else {
        // Sent even when the stream is ending: the message was counted.
        queue_.emplace_back();
        queue_.back().Swap(&decided_);
        if (!writing_) {
          writing_ = true;
          StartWrite(&queue_.front());
        }
        ResumeReadingLocked();
        finish = ShouldFinishLocked();
      }
    }
    if (finish) Finish(end_status_);
  }

  // Reads the next message unless reading, deciding, ending or too many
  // answers are queued.
  void ResumeReadingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || deciding_ || ending_ ||
        queue_.size() >= BatchStreams::kMaxQueuedAnswers) {
      return;
    }
    reading_ = true;
    StartRead(&in_);
  }

  // Chooses `status` as the stream's end unless one was chosen; whether to
  // Finish now.
  bool EndLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!ending_) {
      ending_ = true;
      end_status_ = status;
    }
    return ShouldFinishLocked();
  }

  // Whether the stream has ended and nothing is decided or written: then
  // Finish, once (the caller calls it, outside mu_).
  bool ShouldFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!ending_ || deciding_ || writing_ || finished_) return false;
    finished_ = true;
    return true;
  }

  const CallPipeline* const pipeline_;
  BatchStreams* const streams_;
  grpc::CallbackServerContext* const context_;

  absl::Mutex mu_;
  // The message read; read again only once it is decided.
  grpc::ByteBuffer in_;
  // The answer to the message being decided.
  grpc::ByteBuffer decided_;
  // Answers not yet written; the front one is being written when writing_.
  // A deque: StartWrite keeps a pointer to the front.
  std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool deciding_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Set once, when ending_ is; read by Finish after finished_ is.
  grpc::Status end_status_;
};

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* BatchStreams::Open(
    grpc::CallbackServerContext* context) {
  auto* stream = new BatchStreamReactor(pipeline_, this, context);
  // Started under mu_: CloseAll cannot end (and OnDone delete) the stream
  // before it is started.
  absl::MutexLock lock(&mu_);
  open_.insert(stream);
  if (closed_) {
    stream->Close();
  } else {
    stream->Start();
  }
  return stream;
}

void BatchStreams::CloseAll() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  // A stream removes itself in OnDone under mu_: none is deleted meanwhile.
  for (BatchStreamReactor* stream : open_) stream->Close();
}

void BatchStreams::Remove(BatchStreamReactor* stream) {
  absl::MutexLock lock(&mu_);
  open_.erase(stream);
}

}  // namespace gatehouse
