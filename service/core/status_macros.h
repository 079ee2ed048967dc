#ifndef GATEHOUSE_SERVICE_CORE_STATUS_MACROS_H_
#define GATEHOUSE_SERVICE_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Debian's Abseil (20220623) has no ABSL_RETURN_IF_ERROR; these are ours.

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define GH_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status gh_status_ = (expr);      \
    if (!gh_status_.ok()) return gh_status_; \
  } while (0)

#define GH_CONCAT_INNER_(a, b) a##b
#define GH_CONCAT_(a, b) GH_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK,
// otherwise moves the value into `lhs` (a declaration or an lvalue).
#define GH_ASSIGN_OR_RETURN(lhs, rexpr) \
  GH_ASSIGN_OR_RETURN_IMPL_(GH_CONCAT_(gh_statusor_, __LINE__), lhs, rexpr)

#define GH_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()

#endif  // GATEHOUSE_SERVICE_CORE_STATUS_MACROS_H_
