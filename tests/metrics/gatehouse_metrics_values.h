#ifndef GATEHOUSE_TESTS_METRICS_GATEHOUSE_METRICS_VALUES_H_
#define GATEHOUSE_TESTS_METRICS_GATEHOUSE_METRICS_VALUES_H_

#include "service/metrics/gatehouse_metrics.h"

namespace gatehouse::metrics::testing {

// The value the Prometheus test looks for in
// gatehouse_decisions_total{policy="login_ip",rpc="check",decision="allow"}.
inline constexpr int kLoginIpCheckAllows = 7;

// Gives every family of `metrics` at least one series, with label values a
// real server would use, so a scrape shows every name.
void SetExampleValues(GatehouseMetrics* metrics);

}  // namespace gatehouse::metrics::testing

#endif  // GATEHOUSE_TESTS_METRICS_GATEHOUSE_METRICS_VALUES_H_
