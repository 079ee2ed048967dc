#include "service/config/config_file.h"

#include <fstream>

#include "absl/strings/str_cat.h"

namespace gatehouse {
namespace {

std::string Size(size_t bytes) {
  if (bytes % (1 << 20) == 0) return absl::StrCat(bytes >> 20, " MiB");
  if (bytes % (1 << 10) == 0) return absl::StrCat(bytes >> 10, " KiB");
  return absl::StrCat(bytes, " bytes");
}

}  // namespace

absl::StatusOr<std::string> ReadConfigFile(const std::string& path,
                                           size_t max_bytes,
                                           absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open ", what));
  }
  std::string text;
  char chunk[64 << 10];
  while (in) {
    in.read(chunk, sizeof(chunk));
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", what, " is over ", Size(max_bytes)));
    }
  }
  if (in.bad()) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read ", what));
  }
  return text;
}

std::optional<absl::StatusOr<std::string>> ConfigSource::ReadIfChanged() {
  absl::StatusOr<std::string> now = ReadConfigFile(path_, max_bytes_, what_);
  if (last_.has_value() && last_->ok() == now.ok() &&
      (now.ok() ? **last_ == *now : last_->status() == now.status())) {
    return std::nullopt;
  }
  last_ = now;
  return now;
}

}  // namespace gatehouse
