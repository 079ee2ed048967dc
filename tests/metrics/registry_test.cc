#include "service/metrics/registry.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace gatehouse::metrics {
namespace {

TEST(RegistryTest, RendersCounterFamilyWithHelpTypeAndSortedSeries) {
  Registry registry;
  Family<Counter>& decisions = registry.AddCounter(
      "test_decisions_total", "Decisions made.", {"policy", "decision"});
  decisions.WithLabels({"login_ip", "deny"}).Increment(3);
  decisions.WithLabels({"login_ip", "allow"}).Increment();
  decisions.WithLabels({"login_ip", "allow"}).Increment(6);

  EXPECT_EQ(registry.Render(),
            "# HELP test_decisions_total Decisions made.\n"
            "# TYPE test_decisions_total counter\n"
            "test_decisions_total{policy=\"login_ip\",decision=\"allow\"} 7\n"
            "test_decisions_total{policy=\"login_ip\",decision=\"deny\"} 3\n");
}

TEST(RegistryTest, WithLabelsReturnsTheSameSeriesEveryTime) {
  Registry registry;
  Family<Counter>& family = registry.AddCounter("a_total", "A.", {"x"});
  Counter& first = family.WithLabels({"1"});
  family.WithLabels({"2"});
  family.WithLabels({"0"});
  EXPECT_EQ(&first, &family.WithLabels({"1"}));
}

TEST(RegistryTest, UnlabelledFamiliesAreExportedAtZeroFromTheStart) {
  Registry registry;
  registry.AddCounter("events_total", "Events.");
  registry.AddGauge("queue_depth", "Depth.");

  EXPECT_EQ(registry.Render(),
            "# HELP events_total Events.\n"
            "# TYPE events_total counter\n"
            "events_total 0\n"
            "# HELP queue_depth Depth.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 0\n");
}

TEST(RegistryTest, LabelledFamilyWithoutSeriesIsLeftOut) {
  Registry registry;
  registry.AddCounter("unused_total", "Never used.", {"policy"});
  EXPECT_EQ(registry.Render(), "");
}

TEST(RegistryTest, FamiliesAreSortedByName) {
  Registry registry;
  registry.AddGauge("zeta", "Z.");
  registry.AddGauge("alpha", "A.");
  const std::string text = registry.Render();
  EXPECT_LT(text.find("alpha"), text.find("zeta"));
}

TEST(RegistryTest, GaugeGoesUpAndDownAndFormatsShortest) {
  Registry registry;
  Gauge& gauge = registry.AddGauge("temperature_celsius", "T.").WithLabels({});
  gauge.Set(10);
  gauge.Increment(0.5);
  gauge.Decrement(0.4);
  EXPECT_DOUBLE_EQ(gauge.Value(), 10.1);

  gauge.Set(0.1);
  EXPECT_EQ(registry.Render(),
            "# HELP temperature_celsius T.\n"
            "# TYPE temperature_celsius gauge\n"
            "temperature_celsius 0.1\n");
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  Family<Gauge>& family = registry.AddGauge(
      "escaped", "Backslash \\ and\nnewline; \"quotes\" stay.", {"v"});
  family.WithLabels({"a\\b\"c\nd"}).Set(1);
  // Invalid UTF-8 would make Prometheus reject the whole scrape.
  family.WithLabels({"caf\xC3\xA9 \xFF"}).Set(2);

  EXPECT_EQ(registry.Render(),
            "# HELP escaped Backslash \\\\ and\\nnewline; \"quotes\" stay.\n"
            "# TYPE escaped gauge\n"
            "escaped{v=\"a\\\\b\\\"c\\nd\"} 1\n"
            "escaped{v=\"caf\xC3\xA9 \xEF\xBF\xBD\"} 2\n");
}

TEST(RegistryTest, RendersHistogramBucketsCumulativelyWithInfSumAndCount) {
  Registry registry;
  Family<Histogram>& latency = registry.AddHistogram(
      "rpc_duration_seconds", "Latency.", {"method"}, {0.00005, 0.1, 1});
  Histogram& check = latency.WithLabels({"Check"});
  check.Observe(0.00005);  // on a bound: counted in that bucket (le)
  check.Observe(0.05);
  check.Observe(0.5);
  check.Observe(0.75);
  check.Observe(7);
  check.Observe(std::nan(""));  // ignored

  EXPECT_EQ(registry.Render(),
            "# HELP rpc_duration_seconds Latency.\n"
            "# TYPE rpc_duration_seconds histogram\n"
            "rpc_duration_seconds_bucket{method=\"Check\",le=\"5e-05\"} 1\n"
            "rpc_duration_seconds_bucket{method=\"Check\",le=\"0.1\"} 2\n"
            "rpc_duration_seconds_bucket{method=\"Check\",le=\"1\"} 4\n"
            "rpc_duration_seconds_bucket{method=\"Check\",le=\"+Inf\"} 5\n"
            "rpc_duration_seconds_sum{method=\"Check\"} 8.30005\n"
            "rpc_duration_seconds_count{method=\"Check\"} 5\n");
}

TEST(RegistryTest, UnlabelledHistogramHasOnlyTheLeLabel) {
  Registry registry;
  registry.AddHistogram("size_bytes", "S.", {}, {10}).WithLabels({}).Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP size_bytes S.\n"
            "# TYPE size_bytes histogram\n"
            "size_bytes_bucket{le=\"10\"} 1\n"
            "size_bytes_bucket{le=\"+Inf\"} 1\n"
            "size_bytes_sum 3\n"
            "size_bytes_count 1\n");
}

TEST(RegistryTest, CallbackGaugeIsEvaluatedAtEachRenderAndOmittedWithoutOne) {
  Registry registry;
  CallbackGauge& size =
      registry.AddCallbackGauge("db_size_bytes", "Size.").WithLabels({});
  EXPECT_EQ(registry.Render(), "");

  double bytes = 1024;
  size.SetCallback([&bytes] { return bytes; });
  EXPECT_EQ(registry.Render(),
            "# HELP db_size_bytes Size.\n"
            "# TYPE db_size_bytes gauge\n"
            "db_size_bytes 1024\n");
  bytes = 1.5e12;
  EXPECT_NE(registry.Render().find("db_size_bytes 1500000000000\n"),
            std::string::npos);

  size.SetCallback(nullptr);
  EXPECT_EQ(registry.Render(), "");
}

TEST(RegistryTest, CallbackCounterIsExportedAsACounter) {
  Registry registry;
  Family<CallbackGauge>& reads =
      registry.AddCallbackCounter("cache_reads_total", "Reads.", {"result"});
  uint64_t hits = 5;
  reads.WithLabels({"hit"}).SetCallback(
      [&hits] { return static_cast<double>(hits); });
  reads.WithLabels({"miss"}).SetCallback([] { return 2.0; });
  EXPECT_EQ(registry.Render(),
            "# HELP cache_reads_total Reads.\n"
            "# TYPE cache_reads_total counter\n"
            "cache_reads_total{result=\"hit\"} 5\n"
            "cache_reads_total{result=\"miss\"} 2\n");
  hits = 9;
  EXPECT_NE(registry.Render().find("cache_reads_total{result=\"hit\"} 9\n"),
            std::string::npos);
}

TEST(RegistryTest, FormatsSpecialValues) {
  Registry registry;
  Family<Gauge>& family = registry.AddGauge("special", "S.", {"k"});
  family.WithLabels({"a"}).Set(std::numeric_limits<double>::infinity());
  family.WithLabels({"b"}).Set(-std::numeric_limits<double>::infinity());
  family.WithLabels({"c"}).Set(std::nan(""));
  family.WithLabels({"d"}).Set(-2.5);
  family.WithLabels({"e"}).Set(1e-9);
  EXPECT_EQ(registry.Render(),
            "# HELP special S.\n"
            "# TYPE special gauge\n"
            "special{k=\"a\"} +Inf\n"
            "special{k=\"b\"} -Inf\n"
            "special{k=\"c\"} NaN\n"
            "special{k=\"d\"} -2.5\n"
            "special{k=\"e\"} 1e-09\n");
}

TEST(RegistryTest, SampleNamesIncludeHistogramSuffixes) {
  Registry registry;
  registry.AddCounter("b_total", "B.", {"x"});
  registry.AddHistogram("a_seconds", "A.", {}, {1});
  EXPECT_EQ(registry.SampleNames(),
            (std::vector<std::string>{"a_seconds_bucket", "a_seconds_count",
                                      "a_seconds_sum", "b_total"}));
}

TEST(RegistryDeathTest, WrongNumberOfLabelValuesAborts) {
  Registry registry;
  Family<Counter>& family = registry.AddCounter("x_total", "X.", {"a", "b"});
  EXPECT_DEATH(family.WithLabels({"only one"}),
               "x_total: 1 label values given, 2 declared");
}

TEST(RegistryDeathTest, InvalidOrDuplicateNamesAbort) {
  Registry registry;
  registry.AddHistogram("latency_seconds", "L.", {}, {1});
  EXPECT_DEATH(registry.AddCounter("bad-name", "B."), "invalid metric name");
  EXPECT_DEATH(registry.AddCounter("ok_total", "O.", {"__reserved"}),
               "invalid label name");
  EXPECT_DEATH(registry.AddCounter("ok_total", "O.", {"a", "a"}),
               "declared twice");
  EXPECT_DEATH(registry.AddHistogram("h", "H.", {"le"}, {1}), "reserved");
  EXPECT_DEATH(registry.AddGauge("latency_seconds_count", "C."),
               "registered twice");
  EXPECT_DEATH(registry.AddGauge("latency_seconds", "C."), "registered twice");
  EXPECT_DEATH(registry.AddHistogram("h", "H.", {}, {1, 1}),
               "strictly increasing");
}

}  // namespace
}  // namespace gatehouse::metrics
