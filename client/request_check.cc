#include "client/request_check.h"

#include "absl/strings/str_cat.h"
#include "service/core/request.h"
#include "service/core/status_macros.h"
#include "service/core/subject_key.h"

namespace gatehouse {
namespace {

absl::Status Invalid(const std::string& field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

}  // namespace

absl::Status CheckRequestValues(
    const google::protobuf::RepeatedPtrField<v1::Subject>& subjects,
    const google::protobuf::Map<std::string, std::string>& context) {
  if (static_cast<size_t>(subjects.size()) > kMaxSubjects) {
    return Invalid(
        "subjects",
        absl::StrCat(subjects.size(), " subjects, at most ", kMaxSubjects));
  }
  for (int i = 0; i < subjects.size(); ++i) {
    GH_RETURN_IF_ERROR(
        CheckSubjectValues(subjects[i], absl::StrCat("subjects[", i, "]")));
  }
  if (static_cast<size_t>(context.size()) > kMaxContextEntries) {
    return Invalid("context", absl::StrCat(context.size(), " entries, at most ",
                                           kMaxContextEntries));
  }
  for (const auto& [k, v] : context) {
    if (k.size() > kMaxContextKeyBytes || !IsCleanUtf8(k)) {
      return Invalid(
          "context",
          absl::StrCat("keys must be 1..", kMaxContextKeyBytes,
                       " bytes of UTF-8 without control characters"));
    }
    if (v.size() > kMaxContextValueBytes || !IsCleanUtf8(v)) {
      return Invalid(
          absl::StrCat("context[\"", k, "\"]"),
          absl::StrCat("value must be at most ", kMaxContextValueBytes,
                       " bytes of UTF-8 without control characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSubjectValues(const v1::Subject& s,
                                absl::string_view field_name) {
  const std::string field(field_name);
  if (!IsCleanUtf8(s.policy())) {
    return Invalid(field + ".policy",
                   "must be UTF-8 without control characters");
  }
  if (s.hits() > kMaxHits) {
    return Invalid(
        field + ".hits",
        absl::StrCat(s.hits(), " is more than the maximum ", kMaxHits));
  }
  for (const auto& [name, value] : s.key()) {
    if (!IsCleanUtf8(name)) {
      return Invalid(field + ".key",
                     "dimension names must be UTF-8 without control "
                     "characters");
    }
    const std::string where = absl::StrCat(field, ".key[\"", name, "\"]");
    if (value.size() > kMaxDimensionValueBytes) {
      return Invalid(where,
                     absl::StrCat("value is ", value.size(), " bytes, at most ",
                                  kMaxDimensionValueBytes));
    }
    if (!IsCleanUtf8(value)) {
      return Invalid(where, "value must be UTF-8 without control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckReason(absl::string_view reason, absl::string_view field,
                         bool required) {
  if (reason.empty()) {
    if (!required) return absl::OkStatus();
    return Invalid(std::string(field),
                   "required: say why, e.g. the incident ticket");
  }
  if (reason.size() > kMaxReasonBytes) {
    return Invalid(
        std::string(field),
        absl::StrCat(reason.size(), " bytes, at most ", kMaxReasonBytes));
  }
  if (!IsCleanUtf8(reason)) {
    return Invalid(std::string(field),
                   "must be UTF-8 without control characters");
  }
  return absl::OkStatus();
}

}  // namespace gatehouse
