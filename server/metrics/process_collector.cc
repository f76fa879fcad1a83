#include "server/metrics/process_collector.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace herd::metrics {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type, double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return {.name = std::move(name), .help = std::move(help), .type = type, .metric = {std::move(m)}};
}

prometheus::MetricFamily Gauge(std::string name, std::string help, double value) {
  return Family(std::move(name), std::move(help), prometheus::MetricType::Gauge, value);
}

// The fields of /proc/self/stat after the command name, which may itself
// hold spaces and parentheses: fields[0] is proc(5)'s field 3 (state).
std::optional<std::vector<absl::string_view>> StatFields(absl::string_view stat) {
  size_t close = stat.rfind(')');
  if (close == absl::string_view::npos) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(stat.substr(close + 1)), ' ', absl::SkipEmpty());
  if (fields.size() < 22) return std::nullopt;  // up to rss, field 24
  return fields;
}

// proc(5)'s field `n` (1-based, as the manual numbers them) as a number.
std::optional<double> StatField(const std::vector<absl::string_view>& fields, size_t n) {
  double v = 0;
  if (n < 3 || n - 3 >= fields.size() || !absl::SimpleAtod(fields[n - 3], &v)) return std::nullopt;
  return v;
}

std::optional<double> BootTime(absl::string_view proc_stat) {
  for (absl::string_view line : absl::StrSplit(proc_stat, '\n')) {
    if (!absl::ConsumePrefix(&line, "btime ")) continue;
    double v = 0;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(line), &v)) return v;
  }
  return std::nullopt;
}

// The soft limit of "Max open files" in /proc/self/limits; nullopt when
// unlimited or absent.
std::optional<double> MaxOpenFiles(absl::string_view limits) {
  for (absl::string_view line : absl::StrSplit(limits, '\n')) {
    if (!absl::ConsumePrefix(&line, "Max open files")) continue;
    std::vector<absl::string_view> cols = absl::StrSplit(line, ' ', absl::SkipEmpty());
    double v = 0;
    if (!cols.empty() && absl::SimpleAtod(cols[0], &v)) return v;
  }
  return std::nullopt;
}

}  // namespace

ProcessCollector::ProcessCollector(ProcessCollectorOptions options)
    : proc_dir_(std::move(options.proc_dir)),
      clock_ticks_(options.clock_ticks > 0 ? options.clock_ticks : sysconf(_SC_CLK_TCK)),
      page_size_(options.page_size > 0 ? options.page_size : sysconf(_SC_PAGESIZE)) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  const double ticks = static_cast<double>(clock_ticks_ > 0 ? clock_ticks_ : 100);

  std::optional<std::string> stat = ReadFile(proc_dir_ + "/self/stat");
  std::optional<std::vector<absl::string_view>> fields;
  if (stat) fields = StatFields(*stat);
  if (fields) {
    std::optional<double> utime = StatField(*fields, 14), stime = StatField(*fields, 15);
    if (utime && stime) {
      out.push_back(Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                           prometheus::MetricType::Counter, (*utime + *stime) / ticks));
    }
    if (std::optional<double> vsize = StatField(*fields, 23)) {
      out.push_back(Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", *vsize));
    }
    if (std::optional<double> rss = StatField(*fields, 24)) {
      out.push_back(Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                          *rss * static_cast<double>(page_size_)));
    }
    std::optional<std::string> proc_stat = ReadFile(proc_dir_ + "/stat");
    std::optional<double> boot = proc_stat ? BootTime(*proc_stat) : std::nullopt;
    std::optional<double> start = StatField(*fields, 22);
    if (boot && start) {
      out.push_back(Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                          *boot + *start / ticks));
    }
  }

  std::error_code ec;
  double open = 0;
  for (std::filesystem::directory_iterator it(proc_dir_ + "/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++open;
  }
  if (!ec) out.push_back(Gauge("process_open_fds", "Number of open file descriptors.", open));

  if (std::optional<std::string> limits = ReadFile(proc_dir_ + "/self/limits")) {
    if (std::optional<double> max = MaxOpenFiles(*limits)) {
      out.push_back(Gauge("process_max_fds", "Maximum number of open file descriptors.", *max));
    }
  }
  return out;
}

}  // namespace herd::metrics
