// The process metrics every Prometheus setup alerts on, under the names
// the official clients use (client_golang's process collector):
//   process_cpu_seconds_total       user + system CPU time
//   process_resident_memory_bytes   resident set size
//   process_virtual_memory_bytes    virtual memory size
//   process_open_fds                open file descriptors
//   process_max_fds                 the soft limit on them
//   process_start_time_seconds      start time, seconds since the epoch
// prometheus-cpp has no such collector: this one reads Linux's /proc at
// scrape time, so nothing runs between scrapes.
//
//   herd::metrics::Metrics metrics;
//   metrics.AddCollectable(std::make_shared<herd::metrics::ProcessCollector>());
//
// A file that cannot be read or parsed leaves its metrics out of that
// scrape (and the rest in); a scrape never fails because of it.
#ifndef HERD_SERVER_METRICS_PROCESS_COLLECTOR_H_
#define HERD_SERVER_METRICS_PROCESS_COLLECTOR_H_

#include <string>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace herd::metrics {

struct ProcessCollectorOptions {
  // Where proc(5) is mounted; tests point it at a directory holding
  // self/stat, self/limits, self/fd/ and stat.
  std::string proc_dir = "/proc";
  // Clock ticks per second and the page size; 0: the system's (sysconf).
  long clock_ticks = 0;
  long page_size = 0;
};

// Thread-safe: Collect keeps no state between calls.
class ProcessCollector : public prometheus::Collectable {
 public:
  explicit ProcessCollector(ProcessCollectorOptions options = {});

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string proc_dir_;
  const long clock_ticks_;
  const long page_size_;
};

}  // namespace herd::metrics

#endif  // HERD_SERVER_METRICS_PROCESS_COLLECTOR_H_
