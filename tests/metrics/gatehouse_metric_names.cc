// Prints every sample name Gatehouse exports, one per line: what
// tests/chart checks the dashboard's and alert rules' PromQL against.

#include <iostream>

#include "service/metrics/gatehouse_metrics.h"

int main() {
  for (const std::string& name :
       gatehouse::metrics::GatehouseMetrics::Names()) {
    std::cout << name << "\n";
  }
  return 0;
}
