#include "service/grpc/request_parser.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "service/grpc/status_convert.h"
#include "service/logging/json_log.h"

namespace gatehouse {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// Below protobuf's own recursion limit (100); our messages nest 3 deep.
constexpr int kMaxDepth = 32;
constexpr size_t kMaxShownKeyBytes = 64;

// A map key as shown in a path: quoted, escaped when not clean text.
std::string KeyText(absl::string_view key) {
  const bool cut = key.size() > kMaxShownKeyBytes;
  if (cut) key = key.substr(0, kMaxShownKeyBytes);
  return absl::StrCat("[\"", absl::CHexEscape(key), cut ? "...\"]" : "\"]");
}

// The key (field 1) of an encoded map entry; empty when it has none.
std::string MapEntryKey(absl::string_view entry) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(entry.data()),
                      static_cast<int>(entry.size()));
  std::string key;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (tag ==
        WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      uint32_t length;
      if (!in.ReadVarint32(&length) || !in.ReadString(&key, length)) break;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      break;
    }
  }
  return key;
}

bool ChecksUtf8(const FieldDescriptor& field) {
  return field.type() == FieldDescriptor::TYPE_STRING &&
         field.file()->syntax() == FileDescriptor::SYNTAX_PROTO3;
}

// The first problem in `bytes`, an encoded `type` at `path` starting at
// byte `base` of the body; empty when none.
std::string Walk(absl::string_view bytes, const Descriptor& type,
                 const std::string& path, size_t base, int depth) {
  if (depth > kMaxDepth) return absl::StrCat(path, ": nested too deeply");
  const bool map_entry = type.options().map_entry();
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  std::map<int, int> repeats;
  while (static_cast<size_t>(in.CurrentPosition()) < bytes.size()) {
    const size_t at = base + in.CurrentPosition();
    const uint32_t tag = in.ReadTag();
    const int number = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    if (tag == 0 || number == 0) {
      return absl::StrCat(path.empty() ? "" : path + ": ",
                          "malformed field tag at byte ", at);
    }
    const FieldDescriptor* field = type.FindFieldByNumber(number);
    std::string where;
    if (map_entry) {
      where = number == 1 ? absl::StrCat(path, " (map key)") : path;
    } else {
      where = absl::StrCat(
          path, path.empty() ? "" : ".",
          field != nullptr ? field->name() : absl::StrCat("field ", number));
      if (field != nullptr && field->is_repeated() && !field->is_map()) {
        absl::StrAppend(&where, "[", repeats[number]++, "]");
      }
    }
    switch (WireFormatLite::GetTagWireType(tag)) {
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t ignored;
        if (!in.ReadVarint64(&ignored)) {
          return absl::StrCat(where, ": truncated or malformed varint");
        }
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED64: {
        uint64_t ignored;
        if (!in.ReadLittleEndian64(&ignored)) {
          return absl::StrCat(where, ": truncated");
        }
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED32: {
        uint32_t ignored;
        if (!in.ReadLittleEndian32(&ignored)) {
          return absl::StrCat(where, ": truncated");
        }
        break;
      }
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t length;
        if (!in.ReadVarint32(&length)) {
          return absl::StrCat(where, ": malformed length");
        }
        const size_t start = in.CurrentPosition();
        if (length > bytes.size() - start) {
          return absl::StrCat(where, ": truncated (", length,
                              " bytes declared, ", bytes.size() - start,
                              " left)");
        }
        const absl::string_view value = bytes.substr(start, length);
        in.Skip(static_cast<int>(length));
        if (field == nullptr) break;
        if (ChecksUtf8(*field) && !IsValidUtf8(value)) {
          return absl::StrCat(where, ": invalid UTF-8");
        }
        if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
          const std::string inner =
              field->is_map() ? absl::StrCat(where, KeyText(MapEntryKey(value)))
                              : where;
          std::string problem = Walk(value, *field->message_type(), inner,
                                     base + start, depth + 1);
          if (!problem.empty()) return problem;
        }
        break;
      }
      case WireFormatLite::WIRETYPE_START_GROUP:
        // Never in our messages; protobuf skips a well-formed one.
        if (!WireFormatLite::SkipField(&in, tag)) {
          return absl::StrCat(where, ": malformed group");
        }
        break;
      default:
        return absl::StrCat(where, ": invalid wire type ",
                            WireFormatLite::GetTagWireType(tag), " at byte ",
                            at);
    }
  }
  return "";
}

}  // namespace

int GeneratedMethodIndex(const char* service, const char* method) {
  const google::protobuf::ServiceDescriptor* s =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          service);
  const google::protobuf::MethodDescriptor* m =
      s != nullptr ? s->FindMethodByName(method) : nullptr;
  // A programming error, found by any test that builds the service.
  if (m == nullptr) std::abort();
  return m->index();
}

bool IsValidUtf8(absl::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    int n;
    uint32_t cp;
    if (c < 0x80) {
      ++p;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

bool IsAscii(absl::string_view s) {
  constexpr uint64_t kHighBits = 0x8080808080808080ull;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, sizeof(word));
    if ((word & kHighBits) != 0) return false;
  }
  for (; i < s.size(); ++i) {
    if (static_cast<uint8_t>(s[i]) >= 0x80) return false;
  }
  return true;
}

std::string FindWireProblem(absl::string_view bytes, const Descriptor& type) {
  return Walk(bytes, type, "", 0, 0);
}

absl::Status ParseRequest(const grpc::ByteBuffer& body,
                          google::protobuf::Message* request) {
  request->Clear();
  std::vector<grpc::Slice> slices;
  // A body of one slice (most are) is read where it is; others are joined.
  std::string joined;
  absl::string_view bytes;
  if (body.Valid() && body.Dump(&slices).ok()) {
    if (slices.size() == 1) {
      bytes = absl::string_view(
          reinterpret_cast<const char*>(slices[0].begin()), slices[0].size());
    } else {
      joined.reserve(body.Length());
      for (const grpc::Slice& s : slices) {
        joined.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      bytes = joined;
    }
  }
  const Descriptor& type = *request->GetDescriptor();
  // A body with no byte over 0x7f cannot hold invalid UTF-8, the one
  // problem protobuf would log about: it goes to protobuf at once, and is
  // walked only if protobuf refuses it, to say why. (The walk costs more
  // than the parse: a Batch's body is hundreds of fields.)
  const bool walk_first = !IsAscii(bytes);
  std::string problem = walk_first ? FindWireProblem(bytes, type) : "";
  if (problem.empty() &&
      !request->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    if (!walk_first) problem = FindWireProblem(bytes, type);
    if (problem.empty()) {
      problem = absl::StrCat("could not be parsed (", bytes.size(), " bytes)");
    }
  }
  if (problem.empty()) return absl::OkStatus();
  request->Clear();
  return absl::InvalidArgumentError(absl::StrCat(
      "request body is not a valid ", type.full_name(), ": ", problem));
}

grpc::Status RefuseUnparsable(LogRateLimiter* log_limiter, const char* method,
                              const absl::Status& status,
                              const grpc::ServerContextBase& context) {
  uint64_t suppressed = 0;
  if (log_limiter == nullptr ||
      log_limiter->Allow("invalid_request", &suppressed)) {
    LogJson(spdlog::level::warn, "call refused",
            {{"rpc", method},
             {"code", absl::StatusCodeToString(status.code())},
             {"reason", status.message()},
             {"peer", context.peer()},
             {"suppressed", suppressed}});
  }
  return ToGrpcStatus(status);
}

}  // namespace gatehouse
