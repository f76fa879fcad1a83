#include "server/metrics/process_collector.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics/metrics.h"

namespace herd::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

void Write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A proc(5) tree with known numbers: utime 250 + stime 150 ticks, started
// 1000 ticks after a boot at 1700000000, 50 MiB virtual, 2560 pages
// resident, three descriptors open, a soft limit of 1024.
std::filesystem::path FakeProc(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / name;
  std::filesystem::remove_all(dir);
  // The command name holds a space and a ')', as a process may name itself.
  Write(dir / "self/stat",
        "4242 (herd d) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 12 0 1000 52428800 2560 "
        "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  Write(dir / "stat", "cpu  1 2 3 4\nbtime 1700000000\nprocesses 99\n");
  Write(dir / "self/limits",
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max cpu time              unlimited            unlimited            seconds   \n"
        "Max open files            1024                 524288               files     \n");
  for (const char* fd : {"0", "1", "2"}) Write(dir / "self/fd" / fd, "");
  return dir;
}

TEST(ProcessCollectorTest, ExpositionOfAKnownProcess) {
  Metrics m({.version = "1"});
  m.AddCollectable(std::make_shared<ProcessCollector>(
      ProcessCollectorOptions{.proc_dir = FakeProc("known").string(), .clock_ticks = 100, .page_size = 4096}));
  std::string text = m.Exposition();
  EXPECT_THAT(text, HasSubstr(R"(# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 4
# HELP process_max_fds Maximum number of open file descriptors.
# TYPE process_max_fds gauge
process_max_fds 1024
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 3
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 10485760
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1700000010
# HELP process_virtual_memory_bytes Virtual memory size in bytes.
# TYPE process_virtual_memory_bytes gauge
process_virtual_memory_bytes 52428800
)"));
  EXPECT_THAT(text, HasSubstr("herd_build_info{version=\"1\"} 1\n"));
}

TEST(ProcessCollectorTest, MissingOrMalformedFilesLeaveOnlyTheirMetricsOut) {
  std::filesystem::path dir = FakeProc("partial");
  Write(dir / "self/stat", "4242 (herdd) S 1 2 3\n");  // too short
  std::filesystem::remove(dir / "stat");
  Metrics m;
  m.AddCollectable(std::make_shared<ProcessCollector>(ProcessCollectorOptions{.proc_dir = dir.string()}));
  std::string text = m.Exposition();
  EXPECT_THAT(text, Not(HasSubstr("process_cpu_seconds_total")));
  EXPECT_THAT(text, Not(HasSubstr("process_resident_memory_bytes")));
  EXPECT_THAT(text, Not(HasSubstr("process_start_time_seconds")));
  EXPECT_THAT(text, HasSubstr("process_open_fds 3\n"));
  EXPECT_THAT(text, HasSubstr("process_max_fds 1024\n"));

  ProcessCollector none({.proc_dir = (dir / "nonexistent").string()});
  EXPECT_TRUE(none.Collect().empty());
}

double Value(const std::vector<prometheus::MetricFamily>& families, const std::string& name) {
  for (const auto& f : families) {
    if (f.name != name) continue;
    return f.type == prometheus::MetricType::Counter ? f.metric.at(0).counter.value : f.metric.at(0).gauge.value;
  }
  ADD_FAILURE() << name << " missing";
  return -1;
}

TEST(ProcessCollectorTest, ThisProcessAsLinuxReportsIt) {
  ProcessCollector c;
  auto before = c.Collect();
  ASSERT_EQ(before.size(), 6u);
  double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  double start = Value(before, "process_start_time_seconds");
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 3600);  // the test binary started within the hour
  EXPECT_GT(Value(before, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(Value(before, "process_virtual_memory_bytes"), Value(before, "process_resident_memory_bytes"));
  EXPECT_GE(Value(before, "process_cpu_seconds_total"), 0);
  EXPECT_GE(Value(before, "process_max_fds"), Value(before, "process_open_fds"));

  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Value(c.Collect(), "process_open_fds"), Value(before, "process_open_fds") + 1);
  close(fd);
}

}  // namespace
}  // namespace herd::metrics
