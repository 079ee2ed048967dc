// `promtool check metrics` (Prometheus's own linter and parser) on a real
// scrape of a MetricsServer exporting every Gatehouse family.

#include <string>

#include "gtest/gtest.h"
#include "service/metrics/gatehouse_metrics.h"
#include "service/metrics/metrics_server.h"
#include "tests/metrics/gatehouse_metrics_values.h"
#include "tests/metrics/test_support.h"

namespace gatehouse::metrics {
namespace {

using ::gatehouse::metrics::testing::CommandResult;
using ::gatehouse::metrics::testing::HttpGet;
using ::gatehouse::metrics::testing::HttpResponse;
using ::gatehouse::metrics::testing::RunCommand;
using ::gatehouse::metrics::testing::TempDir;

// Runs promtool check metrics on `exposition` (given on stdin, as promtool
// wants it).
CommandResult CheckMetrics(const std::string& exposition) {
  TempDir dir;
  return RunCommand({PROMTOOL_BIN, "check", "metrics"},
                    dir.WriteFile("scrape.txt", exposition));
}

TEST(PromtoolTest, ScrapeOfEveryGatehouseMetricPassesCheckMetrics) {
  Registry registry;
  GatehouseMetrics metrics(&registry, "0.1.0");
  testing::SetExampleValues(&metrics);
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(server.ok()) << server.status();

  const HttpResponse scrape = HttpGet((*server)->port(), "/metrics");
  ASSERT_EQ(scrape.status, 200) << scrape.error;
  for (const std::string& name : GatehouseMetrics::Names()) {
    EXPECT_NE(scrape.body.find("\n" + name), std::string::npos) << name;
  }

  const CommandResult check = CheckMetrics(scrape.body);
  // Not a skip: promtool comes with install-deps, and without it this
  // check would silently vanish.
  EXPECT_EQ(check.exit_code, 0) << PROMTOOL_BIN << " check metrics said:\n"
                                << check.output << "\non:\n"
                                << scrape.body;
}

// Shows the check above can fail: promtool does reject what it should.
TEST(PromtoolTest, CheckMetricsRejectsACounterWithoutTotalSuffix) {
  const CommandResult check = CheckMetrics(
      "# HELP gatehouse_decisions Decisions.\n"
      "# TYPE gatehouse_decisions counter\n"
      "gatehouse_decisions 1\n");
  EXPECT_NE(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("_total"), std::string::npos) << check.output;
}

}  // namespace
}  // namespace gatehouse::metrics
