#ifndef GATEHOUSE_TESTS_TESTING_RAW_HTTP2_H_
#define GATEHOUSE_TESTS_TESTING_RAW_HTTP2_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace gatehouse::testing {

// A minimal HTTP/2 client over a plaintext loopback TCP connection, for
// tests that play a hostile peer: it writes raw frames (HEADERS with HPACK
// literal fields, DATA, RST_STREAM) exactly as told, and reads only when
// asked, so it can hold streams half-open, reset them at once or never read
// the answers, which no well-behaved gRPC client does. Frames are queued
// and sent by Flush(). Not thread-safe.
class RawHttp2Connection {
 public:
  // Connects to 127.0.0.1:`port`, sends the preface and an empty SETTINGS,
  // and waits (up to 5s) for the server's SETTINGS, which it acknowledges.
  // Null with `*error` set on failure.
  static std::unique_ptr<RawHttp2Connection> Open(int port, std::string* error);
  ~RawHttp2Connection();  // Closes the socket.
  RawHttp2Connection(const RawHttp2Connection&) = delete;
  RawHttp2Connection& operator=(const RawHttp2Connection&) = delete;

  // The server's SETTINGS_MAX_CONCURRENT_STREAMS; nullopt when it did not
  // advertise one (no limit).
  std::optional<uint32_t> max_concurrent_streams() const {
    return max_concurrent_streams_;
  }

  // Queues HEADERS opening a new gRPC call to `path` (e.g.
  // "/gatehouse.v1.RateLimiter/Check"), with an "authorization" field when
  // `authorization` is not empty; returns the stream id.
  uint32_t QueueHeaders(const std::string& path,
                        const std::string& authorization = "");
  // Queues DATA carrying `message` as one gRPC length-prefixed message on
  // `stream`, ending the client's side of the stream.
  void QueueMessage(uint32_t stream, const std::string& message);
  // Queues DATA starting a gRPC message of `declared` bytes on `stream` and
  // as much of its body as the server's flow-control windows admit, never
  // the whole: the server must hold the part while it waits for the rest.
  // Returns the body bytes queued. TopUpPartialMessages() later sends more
  // of each such message as the server grants window, still never all.
  size_t QueuePartialMessage(uint32_t stream, size_t declared);
  size_t TopUpPartialMessages();
  // Queues RST_STREAM(CANCEL) for `stream`.
  void QueueReset(uint32_t stream);
  // Bytes queued and not yet sent.
  size_t queued() const { return out_.size(); }

  // Sends what is queued. Gives up, returning false, when the server takes
  // nothing for `timeout_ms` (it stopped reading) or the connection fails.
  bool Flush(int timeout_ms = 2000);
  // Reads and parses what the server sent, waiting up to `wait_ms` for the
  // first bytes; answers SETTINGS and PING. False once the connection is
  // closed.
  bool Drain(int wait_ms);
  // Closes the connection at once (no GOAWAY).
  void Close();

  // What the server sent so far.
  uint64_t headers_received() const { return headers_received_; }
  uint64_t resets_received() const { return resets_received_; }
  bool goaway_received() const { return goaway_received_; }
  bool closed() const { return fd_ < 0; }

 private:
  explicit RawHttp2Connection(int fd) : fd_(fd) {}
  void QueueFrame(uint8_t type, uint8_t flags, uint32_t stream,
                  const std::string& payload);
  // Parses the complete frames in in_; false on a protocol error.
  void ParseFrames();

  int fd_;
  std::string out_;
  std::string in_;
  uint32_t next_stream_ = 1;
  // Flow-control windows the server granted (RFC 9113 6.9): the
  // connection's, and each new stream's initial one (streams are sent at
  // most that once).
  int64_t connection_window_ = 65535;
  int64_t initial_stream_window_ = 65535;
  // Partial messages: stream -> {window left, body bytes still unsent}.
  struct Partial {
    int64_t window;
    int64_t unsent;
  };
  std::map<uint32_t, Partial> partial_;
  bool settings_received_ = false;
  std::optional<uint32_t> max_concurrent_streams_;
  uint64_t headers_received_ = 0;
  uint64_t resets_received_ = 0;
  bool goaway_received_ = false;
};

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_RAW_HTTP2_H_
