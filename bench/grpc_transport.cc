#include "bench/grpc_transport.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "gatehouse/v1/ratelimit.pb.h"

namespace gatehouse::bench {

struct GrpcTransport::Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  int slot = 0;
  int subjects = 0;
  bool health = false;
};

namespace {

const char* MethodOf(Op op) {
  switch (op) {
    case Op::kHealth:
      return "/grpc.health.v1.Health/Check";
    case Op::kCheck:
      return "/gatehouse.v1.RateLimiter/Check";
    case Op::kPeek:
      return "/gatehouse.v1.RateLimiter/Peek";
    case Op::kRecord:
      return "/gatehouse.v1.RateLimiter/Record";
    case Op::kReset:
      return "/gatehouse.v1.RateLimiter/Reset";
    case Op::kShouldRateLimit:
      return "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";
  }
  return "";
}

grpc::ByteBuffer Serialize(const CallSpec& call) {
  if (call.op == Op::kHealth) {
    // HealthCheckRequest{service: ""}: zero bytes, but a message.
    grpc::Slice empty;
    return grpc::ByteBuffer(&empty, 1);
  }
  if (call.op == Op::kShouldRateLimit) {
    // What Envoy's http filter sends for a route with a generic_key and a
    // remote_address action; bench/policies.yaml maps it to the subject's
    // policy.
    envoy::service::ratelimit::v3::RateLimitRequest request;
    request.set_domain("bench");
    for (const SubjectSpec& s : call.subjects) {
      auto* d = request.add_descriptors();
      auto* e = d->add_entries();
      e->set_key("generic_key");
      e->set_value(s.policy);
      for (const auto& [dimension, value] : s.key) {
        e = d->add_entries();
        e->set_key(dimension == "ip" ? "remote_address" : dimension);
        e->set_value(value);
      }
    }
    const std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes);
    return grpc::ByteBuffer(&slice, 1);
  }
  v1::CheckRequest request;
  for (const SubjectSpec& s : call.subjects) {
    v1::Subject* subject = request.add_subjects();
    subject->set_policy(s.policy);
    for (const auto& [dimension, value] : s.key) {
      (*subject->mutable_key())[dimension] = value;
    }
  }
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(
    const std::string& address, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("gatehouse.bench.channel", i);  // Distinct subchannels.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(grpc::CreateCustomChannel(
        address, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

GrpcTransport::GrpcTransport(
    std::vector<std::shared_ptr<grpc::Channel>> channels, std::string token,
    absl::Duration deadline)
    : authorization_(token.empty() ? "" : "Bearer " + token),
      deadline_(deadline) {
  for (auto& channel : channels) {
    stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
  }
}

GrpcTransport::~GrpcTransport() {
  // Calls still in flight complete (or are cancelled by their deadline)
  // before the queue may be shut down.
  std::vector<Completion> ignored;
  const SteadyTime give_up = std::chrono::steady_clock::now() +
                             absl::ToChronoMilliseconds(deadline_) +
                             std::chrono::seconds(1);
  while (in_flight_ > 0 && std::chrono::steady_clock::now() < give_up) {
    Poll(give_up, &ignored);
  }
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) delete static_cast<Call*>(tag);
}

void GrpcTransport::Start(int slot, const CallSpec& spec) {
  auto* call = new Call;
  call->slot = slot;
  call->health = spec.op == Op::kHealth;
  call->subjects = call->health ? 1 : static_cast<int>(spec.subjects.size());
  if (!authorization_.empty() && spec.op != Op::kHealth) {
    call->context.AddMetadata("authorization", authorization_);
  }
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMicroseconds(deadline_));
  grpc::GenericStub& stub = *stubs_[slot % stubs_.size()];
  call->reader = stub.PrepareUnaryCall(&call->context, MethodOf(spec.op),
                                       Serialize(spec), &cq_);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
  ++in_flight_;
}

void GrpcTransport::Poll(SteadyTime deadline, std::vector<Completion>* done) {
  void* tag = nullptr;
  bool ok = false;
  // Block for the first completion, then take whatever else is ready. The
  // later polls must not wait: gRPC rounds a deadline of "now" up to a 1 ms
  // epoll timeout, which would stall every loop by 1 ms.
  const auto first_deadline =
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          deadline - std::chrono::steady_clock::now());
  for (int taken = 0; taken < 256; ++taken) {
    const auto status =
        taken == 0
            ? cq_.AsyncNext(&tag, &ok, first_deadline)
            : cq_.AsyncNext(&tag, &ok, gpr_inf_past(GPR_CLOCK_MONOTONIC));
    if (status != grpc::CompletionQueue::GOT_EVENT) return;
    std::unique_ptr<Call> call(static_cast<Call*>(tag));
    --in_flight_;
    Completion c;
    c.slot = call->slot;
    c.decisions = call->subjects;
    c.ok = ok && call->status.ok();
    if (!c.ok) {
      c.error = call->status.error_message();
    } else if (!call->health) {
      v1::CheckResponse response;
      grpc::ProtoBufferReader reader(&call->response);
      if (!response.ParseFromZeroCopyStream(&reader)) {
        c.ok = false;
        c.error = "unparsable response";
      }
      for (const v1::Verdict& v : response.verdicts()) {
        if (v.decision() == v1::Verdict::DENY) ++c.denied;
      }
    }
    done->push_back(std::move(c));
  }
}

}  // namespace gatehouse::bench
