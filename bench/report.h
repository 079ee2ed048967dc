#ifndef GATEHOUSE_BENCH_REPORT_H_
#define GATEHOUSE_BENCH_REPORT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace gatehouse::bench {

// One flat JSON object: every value kept as its JSON text, strings
// unquoted. The generator writes one per run (and bench/run.sh one per
// extra fact, e.g. the botnet's bytes per key) to a JSON-lines file.
using Record = std::map<std::string, std::string>;

// Builds one flat JSON object, members in the order added: strings quoted
// and escaped, numbers in %g form (null when not finite).
class JsonLine {
 public:
  JsonLine& Add(const std::string& key, const std::string& value);
  JsonLine& Add(const std::string& key, double value);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

// Parses one line written by JsonLine (flat objects of strings, numbers
// and booleans only).
absl::StatusOr<Record> ParseJsonLine(const std::string& line);

// Reads the runs in `jsonl`, prints the table and the target ratios to
// stdout and writes them all as one JSON document to `json_out`.
absl::Status Report(const std::string& jsonl, const std::string& json_out);

}  // namespace gatehouse::bench

#endif  // GATEHOUSE_BENCH_REPORT_H_
