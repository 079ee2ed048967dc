#ifndef GATEHOUSE_BENCH_REDIS_TRANSPORT_H_
#define GATEHOUSE_BENCH_REDIS_TRANSPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/transport.h"

struct redisAsyncContext;

namespace gatehouse::bench {

// The sliding-window script the Redis baseline runs per call: a sorted-set
// sliding log per key (a true sliding window), all keys of a call decided
// together (all-or-nothing, like Check).
extern const char kSlidingWindowLua[];

// Loads kSlidingWindowLua into the Redis at host:port (SCRIPT LOAD) and
// returns its SHA1 for EVALSHA.
absl::StatusOr<std::string> LoadRedisScript(const std::string& host, int port);

// Calls Redis through hiredis's asynchronous API on `connections`
// connections, driven by poll() in the calling thread; slots are spread
// over the connections, so each pipelines its share of the in-flight
// calls. Each decision call is one EVALSHA; the floor is PING.
class RedisTransport final : public Transport {
 public:
  static absl::StatusOr<std::unique_ptr<RedisTransport>> Connect(
      const std::string& host, int port, int connections, std::string sha);
  ~RedisTransport() override;

  void Start(int slot, const CallSpec& call) override;
  void Poll(SteadyTime deadline, std::vector<Completion>* done) override;

  // Per connection: which events hiredis waits for. Public for the hooks.
  struct Connection {
    redisAsyncContext* context = nullptr;
    bool want_read = false;
    bool want_write = false;
  };

 private:
  explicit RedisTransport(std::string sha) : sha_(std::move(sha)) {}

  const std::string sha_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Completion>* done_ = nullptr;  // Set during Poll().
  std::vector<Completion> pending_failures_;
  uint64_t sequence_ = 0;
  friend void OnRedisReply(redisAsyncContext*, void*, void*);
};

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_REDIS_TRANSPORT_H_
