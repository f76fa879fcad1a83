#include "sim/logs/logs.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::sim {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1796250695);

TEST(ContainerLog, AServiceStartsGetsReadyAndServesRequests) {
  ContainerRun run{.pod = "web-1", .container = "web", .image = "web:1", .started = kT0};
  auto lines = ContainerLog(run, kT0 + absl::Seconds(12));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_THAT(lines[0].text, HasSubstr("starting web (image web:1)"));
  EXPECT_THAT(lines[3].text, HasSubstr("ready to serve requests"));
  EXPECT_THAT(lines[4].text, HasSubstr("msg=\"request\" method=GET"));
  EXPECT_EQ(lines[5].time, kT0 + absl::Seconds(10));
  // The same run reads the same every time; later reads only add lines.
  auto again = ContainerLog(run, kT0 + absl::Seconds(17));
  ASSERT_EQ(again.size(), 7u);
  EXPECT_EQ(again[5].text, lines[5].text);
  EXPECT_EQ(LogTimestamp(kT0 + absl::Milliseconds(3)), "2026-12-02T22:31:35.003000000Z");
}

TEST(ContainerLog, ACrashLoopSaysWhyItDiesBeforeEachExit) {
  ContainerRun run{.pod = "web-1", .container = "web", .image = "web:2-crashloop", .started = kT0,
                   .finished = kT0 + absl::Seconds(1), .exit_code = 1};
  auto lines = ContainerLog(run, kT0 + absl::Hours(1));
  ASSERT_GE(lines.size(), 5u);
  EXPECT_THAT(lines[2].text, HasSubstr("cannot connect to database"));
  EXPECT_EQ(lines[3].text, "panic: runtime error: invalid memory address or nil pointer dereference");
  EXPECT_EQ(lines.back().text, "exit status 1");
  for (const auto& l : lines) EXPECT_LE(l.time, *run.finished);
}

TEST(ContainerLog, JobsReportTheirOutcomeAndLongRunsAreCapped) {
  ContainerRun ok{.pod = "j", .container = "j", .image = "busybox", .started = kT0,
                  .finished = kT0 + absl::Seconds(1), .exit_code = 0, .job = true};
  EXPECT_THAT(ContainerLog(ok, kT0 + absl::Hours(1)).back().text, HasSubstr("done"));
  ok.exit_code = 1;
  EXPECT_EQ(ContainerLog(ok, kT0 + absl::Hours(1)).back().text, "exit status 1");
  ContainerRun old{.pod = "web-1", .container = "web", .image = "web:1", .started = kT0};
  auto lines = ContainerLog(old, kT0 + absl::Hours(24 * 30), 100);
  EXPECT_EQ(lines.size(), 100u);
}

}  // namespace
}  // namespace herd::sim
