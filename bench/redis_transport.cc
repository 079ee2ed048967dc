#include "bench/redis_transport.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <poll.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse::bench {

const char kSlidingWindowLua[] = R"lua(
-- KEYS: the subjects' keys. ARGV[1]: check | peek | record | reset;
-- ARGV[2]: an id unique to this call; then per key its limit and window
-- (microseconds). Returns {allowed (0/1), keys over their limit}.
local mode = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local counts = {}
local allowed = 1
local over = 0
for i, key in ipairs(KEYS) do
  if mode == 'reset' then
    redis.call('DEL', key)
    counts[i] = 0
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - tonumber(ARGV[2 + 2 * i]))
    counts[i] = redis.call('ZCARD', key)
    if counts[i] + 1 > tonumber(ARGV[1 + 2 * i]) then
      allowed = 0
      over = over + 1
    end
  end
end
if mode == 'record' or (mode == 'check' and allowed == 1) then
  for i, key in ipairs(KEYS) do
    local window = tonumber(ARGV[2 + 2 * i])
    redis.call('ZADD', key, now, ARGV[2] .. ':' .. i)
    redis.call('PEXPIRE', key, math.floor(window / 1000) + 1)
    counts[i] = counts[i] + 1
  end
end
if mode == 'record' then
  -- Like Gatehouse's Record: whether a next attempt would be allowed.
  allowed = 1
  over = 0
  for i, key in ipairs(KEYS) do
    if counts[i] + 1 > tonumber(ARGV[1 + 2 * i]) then
      allowed = 0
      over = over + 1
    end
  end
end
return {allowed, over}
)lua";

namespace {

struct PendingCall {
  RedisTransport* transport;
  int slot;
  int decisions;
};

void AddRead(void* c) {
  static_cast<RedisTransport::Connection*>(c)->want_read = true;
}
void DelRead(void* c) {
  static_cast<RedisTransport::Connection*>(c)->want_read = false;
}
void AddWrite(void* c) {
  static_cast<RedisTransport::Connection*>(c)->want_write = true;
}
void DelWrite(void* c) {
  static_cast<RedisTransport::Connection*>(c)->want_write = false;
}
void Cleanup(void* c) {
  auto* connection = static_cast<RedisTransport::Connection*>(c);
  connection->want_read = connection->want_write = false;
  connection->context = nullptr;
}

const char* ModeOf(Op op) {
  switch (op) {
    case Op::kCheck:
      return "check";
    case Op::kPeek:
      return "peek";
    case Op::kRecord:
      return "record";
    case Op::kReset:
      return "reset";
    case Op::kHealth:
    case Op::kShouldRateLimit:
      break;
  }
  return "";
}

std::string RedisKey(const SubjectSpec& s) {
  std::string key = absl::StrCat("gh:", s.policy);
  for (const auto& [dimension, value] : s.key) {
    absl::StrAppend(&key, ":", dimension, "=", value);
  }
  return key;
}

}  // namespace

void OnRedisReply(redisAsyncContext*, void* r, void* privdata) {
  std::unique_ptr<PendingCall> call(static_cast<PendingCall*>(privdata));
  auto* reply = static_cast<redisReply*>(r);
  if (call->transport->done_ == nullptr) return;  // Shutting down.
  Completion c;
  c.slot = call->slot;
  c.decisions = call->decisions;
  if (reply == nullptr) {
    c.error = "connection lost";
  } else if (reply->type == REDIS_REPLY_ERROR) {
    c.error = std::string(reply->str, reply->len);
  } else {
    c.ok = true;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
      c.denied = static_cast<int>(reply->element[1]->integer);
    }
  }
  call->transport->done_->push_back(std::move(c));
}

absl::StatusOr<std::string> LoadRedisScript(const std::string& host, int port) {
  redisContext* c = redisConnect(host.c_str(), port);
  if (c == nullptr || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    return absl::UnavailableError(
        absl::StrCat("redis ", host, ":", port, ": ", why));
  }
  auto* reply = static_cast<redisReply*>(
      redisCommand(c, "SCRIPT LOAD %s", kSlidingWindowLua));
  absl::StatusOr<std::string> sha = absl::UnavailableError("SCRIPT LOAD");
  if (reply != nullptr && reply->type == REDIS_REPLY_STRING) {
    sha = std::string(reply->str, reply->len);
  } else if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
    sha = absl::UnavailableError(absl::StrCat("SCRIPT LOAD: ", reply->str));
  }
  if (reply) freeReplyObject(reply);
  redisFree(c);
  return sha;
}

absl::StatusOr<std::unique_ptr<RedisTransport>> RedisTransport::Connect(
    const std::string& host, int port, int connections, std::string sha) {
  std::unique_ptr<RedisTransport> t(new RedisTransport(std::move(sha)));
  for (int i = 0; i < connections; ++i) {
    auto connection = std::make_unique<Connection>();
    redisAsyncContext* ac = redisAsyncConnect(host.c_str(), port);
    if (ac == nullptr || ac->err) {
      std::string why = ac ? ac->errstr : "out of memory";
      if (ac) redisAsyncFree(ac);
      return absl::UnavailableError(
          absl::StrCat("redis ", host, ":", port, ": ", why));
    }
    connection->context = ac;
    ac->ev.data = connection.get();
    ac->ev.addRead = AddRead;
    ac->ev.delRead = DelRead;
    ac->ev.addWrite = AddWrite;
    ac->ev.delWrite = DelWrite;
    ac->ev.cleanup = Cleanup;
    // A non-blocking connect completes when the socket becomes writable.
    connection->want_write = true;
    t->connections_.push_back(std::move(connection));
  }
  return t;
}

RedisTransport::~RedisTransport() {
  done_ = nullptr;
  for (auto& connection : connections_) {
    if (connection->context != nullptr) redisAsyncFree(connection->context);
  }
}

void RedisTransport::Start(int slot, const CallSpec& spec) {
  Connection& connection = *connections_[slot % connections_.size()];
  auto* call = new PendingCall{this, slot, 1};
  if (connection.context == nullptr) {
    // Reported by the next Poll, like any failed call.
    Completion c;
    c.slot = slot;
    c.error = "redis connection closed";
    pending_failures_.push_back(std::move(c));
    delete call;
    return;
  }
  if (spec.op == Op::kHealth) {
    redisAsyncCommand(connection.context, OnRedisReply, call, "PING");
    return;
  }
  call->decisions = static_cast<int>(spec.subjects.size());
  std::vector<std::string> args = {"EVALSHA", sha_,
                                   absl::StrCat(spec.subjects.size())};
  for (const SubjectSpec& s : spec.subjects) args.push_back(RedisKey(s));
  args.push_back(ModeOf(spec.op));
  args.push_back(
      absl::StrCat(reinterpret_cast<uintptr_t>(this), "-", ++sequence_));
  for (const SubjectSpec& s : spec.subjects) {
    const RedisPolicy p = RedisPolicyOf(s.policy);
    args.push_back(absl::StrCat(p.limit));
    args.push_back(absl::StrCat(p.window_us));
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  redisAsyncCommandArgv(connection.context, OnRedisReply, call,
                        static_cast<int>(argv.size()), argv.data(),
                        lengths.data());
}

void RedisTransport::Poll(SteadyTime deadline, std::vector<Completion>* done) {
  done_ = done;
  for (Completion& c : pending_failures_) done->push_back(std::move(c));
  pending_failures_.clear();
  std::vector<pollfd> fds;
  std::vector<Connection*> owners;
  for (auto& connection : connections_) {
    if (connection->context == nullptr) continue;
    short events = 0;
    if (connection->want_read) events |= POLLIN;
    if (connection->want_write) events |= POLLOUT;
    if (events == 0) continue;
    fds.push_back(pollfd{connection->context->c.fd, events, 0});
    owners.push_back(connection.get());
  }
  const auto wait = std::max(std::chrono::steady_clock::duration::zero(),
                             deadline - std::chrono::steady_clock::now());
  timespec timeout;
  timeout.tv_sec =
      std::chrono::duration_cast<std::chrono::seconds>(wait).count();
  timeout.tv_nsec = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        wait - std::chrono::seconds(timeout.tv_sec))
                        .count();
  if (!done->empty()) timeout = timespec{0, 0};
  if (fds.empty() || ppoll(fds.data(), fds.size(), &timeout, nullptr) <= 0) {
    done_ = nullptr;
    return;
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    Connection* connection = owners[i];
    if (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
      if (connection->context != nullptr) {
        redisAsyncHandleRead(connection->context);
      }
    }
    if (fds[i].revents & POLLOUT) {
      if (connection->context != nullptr) {
        redisAsyncHandleWrite(connection->context);
      }
    }
  }
  done_ = nullptr;
}

}  // namespace gatehouse::bench
