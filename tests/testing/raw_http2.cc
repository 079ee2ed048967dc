#include "tests/testing/raw_http2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace gatehouse::testing {
namespace {

constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3,
                  kSettings = 0x4, kPing = 0x6, kGoaway = 0x7,
                  kWindowUpdate = 0x8;
constexpr uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4;
constexpr uint16_t kSettingsMaxConcurrentStreams = 0x3,
                   kSettingsInitialWindowSize = 0x4;
constexpr size_t kMaxFramePayload = 16384;
constexpr uint32_t kCancel = 0x8;

// An HPACK integer with an `prefix_bits`-bit prefix (RFC 7541 5.1); the
// first byte's high bits are `first`.
void AppendHpackInt(std::string* out, uint8_t first, int prefix_bits,
                    uint64_t value) {
  const uint64_t max_prefix = (1u << prefix_bits) - 1;
  if (value < max_prefix) {
    out->push_back(static_cast<char>(first | value));
    return;
  }
  out->push_back(static_cast<char>(first | max_prefix));
  value -= max_prefix;
  while (value >= 128) {
    out->push_back(static_cast<char>((value % 128) | 128));
    value /= 128;
  }
  out->push_back(static_cast<char>(value));
}

// A literal header field without indexing, new name, no Huffman coding
// (RFC 7541 6.2.2): the server keeps nothing in its HPACK table for it.
void AppendLiteral(std::string* out, const std::string& name,
                   const std::string& value) {
  out->push_back(0);
  AppendHpackInt(out, 0, 7, name.size());
  out->append(name);
  AppendHpackInt(out, 0, 7, value.size());
  out->append(value);
}

uint32_t ReadU32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3]));
}

void AppendU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::unique_ptr<RawHttp2Connection> RawHttp2Connection::Open(
    int port, std::string* error) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return nullptr;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::unique_ptr<RawHttp2Connection> conn(new RawHttp2Connection(fd));
  conn->out_.assign(kPreface, sizeof(kPreface) - 1);
  conn->QueueFrame(kSettings, 0, 0, "");
  if (!conn->Flush()) {
    *error = "cannot send the connection preface";
    return nullptr;
  }
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!conn->settings_received_ &&
         std::chrono::steady_clock::now() < give_up) {
    if (!conn->Drain(100)) break;
  }
  if (!conn->settings_received_ || !conn->Flush()) {
    *error = "no SETTINGS from the server";
    return nullptr;
  }
  return conn;
}

RawHttp2Connection::~RawHttp2Connection() { Close(); }

void RawHttp2Connection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void RawHttp2Connection::QueueFrame(uint8_t type, uint8_t flags,
                                    uint32_t stream,
                                    const std::string& payload) {
  const uint32_t length = static_cast<uint32_t>(payload.size());
  out_.push_back(static_cast<char>(length >> 16));
  out_.push_back(static_cast<char>(length >> 8));
  out_.push_back(static_cast<char>(length));
  out_.push_back(static_cast<char>(type));
  out_.push_back(static_cast<char>(flags));
  AppendU32(&out_, stream & 0x7fffffffu);
  out_.append(payload);
}

uint32_t RawHttp2Connection::QueueHeaders(const std::string& path,
                                          const std::string& authorization) {
  const uint32_t stream = next_stream_;
  next_stream_ += 2;
  std::string block;
  AppendLiteral(&block, ":method", "POST");
  AppendLiteral(&block, ":scheme", "http");
  AppendLiteral(&block, ":path", path);
  AppendLiteral(&block, ":authority", "localhost");
  AppendLiteral(&block, "content-type", "application/grpc");
  AppendLiteral(&block, "te", "trailers");
  if (!authorization.empty()) {
    AppendLiteral(&block, "authorization", authorization);
  }
  QueueFrame(kHeaders, kEndHeaders, stream, block);
  return stream;
}

void RawHttp2Connection::QueueMessage(uint32_t stream,
                                      const std::string& message) {
  std::string payload(1, '\0');  // Not compressed.
  AppendU32(&payload, static_cast<uint32_t>(message.size()));
  payload.append(message);
  QueueFrame(kData, kEndStream, stream, payload);
}

size_t RawHttp2Connection::QueuePartialMessage(uint32_t stream,
                                               size_t declared) {
  if (connection_window_ < 5 || initial_stream_window_ < 5) return 0;
  std::string prefix(1, '\0');
  AppendU32(&prefix, static_cast<uint32_t>(declared));
  QueueFrame(kData, 0, stream, prefix);
  connection_window_ -= 5;
  // One byte of the body is never sent.
  partial_[stream] =
      Partial{initial_stream_window_ - 5, static_cast<int64_t>(declared) - 1};
  return TopUpPartialMessages();
}

size_t RawHttp2Connection::TopUpPartialMessages() {
  size_t sent = 0;
  for (auto& [stream, p] : partial_) {
    while (connection_window_ > 0 && p.window > 0 && p.unsent > 0) {
      const int64_t n = std::min({connection_window_, p.window, p.unsent,
                                  static_cast<int64_t>(kMaxFramePayload)});
      QueueFrame(kData, 0, stream, std::string(static_cast<size_t>(n), 'x'));
      connection_window_ -= n;
      p.window -= n;
      p.unsent -= n;
      sent += static_cast<size_t>(n);
    }
  }
  return sent;
}

void RawHttp2Connection::QueueReset(uint32_t stream) {
  std::string payload;
  AppendU32(&payload, kCancel);
  QueueFrame(kRstStream, 0, stream, payload);
}

bool RawHttp2Connection::Flush(int timeout_ms) {
  size_t sent = 0;
  while (sent < out_.size()) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) <= 0) break;  // The server stopped reading.
    const ssize_t n = send(fd_, out_.data() + sent, out_.size() - sent,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      Close();
      break;
    }
    sent += static_cast<size_t>(n);
  }
  out_.erase(0, sent);
  return out_.empty();
}

bool RawHttp2Connection::Drain(int wait_ms) {
  char buf[64 * 1024];
  int wait = wait_ms;
  while (fd_ >= 0) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, wait) <= 0) break;
    const ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    if (n <= 0) {
      Close();
      break;
    }
    in_.append(buf, static_cast<size_t>(n));
    ParseFrames();
    wait = 0;
  }
  return fd_ >= 0;
}

void RawHttp2Connection::ParseFrames() {
  size_t at = 0;
  while (in_.size() - at >= 9) {
    const uint32_t length = ReadU32(in_, at) >> 8;
    if (in_.size() - at < 9 + length) break;
    const uint8_t type = static_cast<uint8_t>(in_[at + 3]);
    const uint8_t flags = static_cast<uint8_t>(in_[at + 4]);
    const uint32_t stream_id = ReadU32(in_, at + 5) & 0x7fffffffu;
    const std::string payload = in_.substr(at + 9, length);
    at += 9 + length;
    switch (type) {
      case kSettings:
        if ((flags & kAck) != 0) break;
        for (size_t i = 0; i + 6 <= payload.size(); i += 6) {
          const uint16_t id =
              static_cast<uint16_t>((static_cast<uint8_t>(payload[i]) << 8) |
                                    static_cast<uint8_t>(payload[i + 1]));
          if (id == kSettingsMaxConcurrentStreams) {
            max_concurrent_streams_ = ReadU32(payload, i + 2);
          }
          if (id == kSettingsInitialWindowSize) {
            initial_stream_window_ = ReadU32(payload, i + 2);
          }
        }
        settings_received_ = true;
        QueueFrame(kSettings, kAck, 0, "");
        break;
      case kPing:
        if ((flags & kAck) == 0) QueueFrame(kPing, kAck, 0, payload);
        break;
      case kHeaders:
        ++headers_received_;
        break;
      case kRstStream:
        ++resets_received_;
        partial_.erase(stream_id);
        break;
      case kGoaway:
        goaway_received_ = true;
        break;
      case kWindowUpdate:
        if (payload.size() != 4) break;
        if (stream_id != 0) {
          auto it = partial_.find(stream_id);
          if (it != partial_.end()) {
            it->second.window += ReadU32(payload, 0) & 0x7fffffffu;
          }
        }
        if (stream_id == 0 && payload.size() == 4) {
          connection_window_ += ReadU32(payload, 0) & 0x7fffffffu;
        }
        break;
      default:
        break;
    }
  }
  in_.erase(0, at);
}

}  // namespace gatehouse::testing
