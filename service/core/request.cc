#include "service/core/request.h"

namespace gatehouse {

const char* OperationName(Operation op) {
  switch (op) {
    case Operation::kCheck:
      return "Check";
    case Operation::kPeek:
      return "Peek";
    case Operation::kRecord:
      return "Record";
    case Operation::kReset:
      return "Reset";
  }
  return "Unknown";
}

std::optional<Operation> OperationFromName(std::string_view name) {
  for (Operation op : kOperations) {
    if (name == OperationName(op)) return op;
  }
  return std::nullopt;
}

}  // namespace gatehouse
