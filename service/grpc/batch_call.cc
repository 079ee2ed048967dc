#include "service/grpc/batch_call.h"

#include "absl/strings/str_cat.h"
#include "service/grpc/proto_convert.h"
#include "service/grpc/status_convert.h"

namespace gatehouse {
namespace {

// The request inside a BatchItem, whichever of the four it is.
struct ItemView {
  bool present = false;
  Operation op = Operation::kCheck;
  const google::protobuf::RepeatedPtrField<v1::Subject>* subjects = nullptr;
  const google::protobuf::Map<std::string, std::string>* context = nullptr;
};

template <typename RequestProto>
ItemView ViewOf(Operation op, const RequestProto& request) {
  return ItemView{true, op, &request.subjects(), &request.context()};
}

ItemView ViewOf(const v1::BatchItem& item) {
  switch (item.request_case()) {
    case v1::BatchItem::kCheck:
      return ViewOf(Operation::kCheck, item.check());
    case v1::BatchItem::kPeek:
      return ViewOf(Operation::kPeek, item.peek());
    case v1::BatchItem::kRecord:
      return ViewOf(Operation::kRecord, item.record());
    case v1::BatchItem::kReset:
      return ViewOf(Operation::kReset, item.reset());
    case v1::BatchItem::REQUEST_NOT_SET:
      break;
  }
  return ItemView{};
}

// The whole call's limits: INVALID_ARGUMENT naming `items`.
absl::Status CheckBatchLimits(const v1::BatchRequest& request) {
  if (request.items().empty()) {
    return absl::InvalidArgumentError("items: at least one item is required");
  }
  if (static_cast<size_t>(request.items_size()) > kMaxBatchItems) {
    return absl::InvalidArgumentError(absl::StrCat(
        "items: ", request.items_size(), " items, at most ", kMaxBatchItems));
  }
  size_t subjects = 0;
  for (const v1::BatchItem& item : request.items()) {
    const ItemView view = ViewOf(item);
    if (view.present) subjects += view.subjects->size();
  }
  if (subjects > kMaxBatchSubjects) {
    return absl::InvalidArgumentError(absl::StrCat(
        "items: ", subjects, " subjects in all, at most ", kMaxBatchSubjects));
  }
  return absl::OkStatus();
}

void SetStatus(const absl::Status& status, v1::ItemStatus* out) {
  out->set_code(static_cast<int32_t>(status.code()));
  out->set_message(std::string(status.message()));
}

// Fills `result` with the response of `op`'s kind.
void SetResponse(Operation op, const Response& response,
                 v1::BatchResult* result) {
  switch (op) {
    case Operation::kCheck:
      return ToProto(response, result->mutable_check());
    case Operation::kPeek:
      return ToProto(response, result->mutable_peek());
    case Operation::kRecord:
      return ToProto(response, result->mutable_record());
    case Operation::kReset:
      return ToProto(response, result->mutable_reset());
  }
}

}  // namespace

void HandleBatchAsync(const CallPipeline& pipeline,
                      const grpc::ServerContextBase& context,
                      const v1::BatchRequest& request,
                      v1::BatchResponse* response,
                      CallPipeline::Finisher finish) {
  // An unknown caller is audited once for the whole call, as its first
  // item: it must not turn one call into hundreds of audit writes.
  const ItemView first =
      request.items().empty() ? ItemView{} : ViewOf(request.items(0));
  absl::StatusOr<Caller> caller = pipeline.Authenticate(
      context, first.op,
      first.present ? FromProto(*first.subjects, *first.context) : Request{});
  if (!caller.ok()) return std::move(finish)(ToGrpcStatus(caller.status()));
  const absl::Status limits = CheckBatchLimits(request);
  if (!limits.ok()) return std::move(finish)(ToGrpcStatus(limits));

  // What the decision needs until it is answered.
  struct Pending {
    std::string client_id;
    std::vector<absl::Status> refused;
    // Reserved up front: `run` points into `domain`.
    std::vector<Request> domain;
    std::vector<BatchItem> run;
    std::vector<int> run_index;
  };
  const int n = request.items_size();
  auto pending = std::make_unique<Pending>();
  pending->client_id = caller->client_id;
  pending->refused.resize(n);
  pending->domain.reserve(n);
  pending->run.reserve(n);
  pending->run_index.reserve(n);
  for (int i = 0; i < n; ++i) {
    const ItemView item = ViewOf(request.items(i));
    if (!item.present) {
      pending->refused[i] = absl::InvalidArgumentError(absl::StrCat(
          "items[", i, "]: one of check, peek, record or reset is required"));
      continue;
    }
    Request r = FromProto(*item.subjects, *item.context);
    r.client_id = caller->client_id;
    pending->refused[i] = pipeline.Permit(context, *caller, item.op, r);
    if (!pending->refused[i].ok()) continue;
    pending->domain.push_back(std::move(r));
    pending->run.push_back(BatchItem{item.op, &pending->domain.back()});
    pending->run_index.push_back(i);
  }
  const Pending& p = *pending;
  pipeline.DecideBatchAsync(
      p.run, p.client_id,
      [&pipeline, &request, response, pending = std::move(pending),
       finish = std::move(finish)](
          std::vector<absl::StatusOr<Response>> results) mutable {
        const std::vector<absl::Status>& refused = pending->refused;
        const int n = request.items_size();
        response->mutable_results()->Reserve(n);
        for (int i = 0; i < n; ++i) {
          SetStatus(refused[i], response->add_results()->mutable_status());
          if (!refused[i].ok()) {
            pipeline.metrics().RecordBatchItem(ViewOf(request.items(i)).op,
                                               refused[i].code());
          }
        }
        for (size_t k = 0; k < pending->run.size(); ++k) {
          v1::BatchResult* result =
              response->mutable_results(pending->run_index[k]);
          if (!results[k].ok()) {
            SetStatus(results[k].status(), result->mutable_status());
          } else {
            SetResponse(pending->run[k].op, *results[k], result);
          }
        }
        pending.reset();
        std::move(finish)(grpc::Status::OK);
      });
}

}  // namespace gatehouse
