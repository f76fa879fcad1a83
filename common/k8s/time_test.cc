#include "common/k8s/time.h"

#include <string>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace herd::k8s {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

TEST(FormatTimeTest, WritesWholeSecondsInUtc) {
  EXPECT_EQ(k8s::FormatTime(Utc(2026, 11, 25, 10, 44, 58)), "2026-11-25T10:44:58Z");
}

TEST(FormatTimeTest, TruncatesSubSecondParts) {
  EXPECT_EQ(k8s::FormatTime(Utc(2026, 11, 25, 10, 44, 58) + absl::Milliseconds(999)), "2026-11-25T10:44:58Z");
}

TEST(FormatTimeTest, TruncatesBeforeTheEpochTowardThePast) {
  EXPECT_EQ(k8s::FormatTime(absl::UnixEpoch() - absl::Milliseconds(500)), "1969-12-31T23:59:59Z");
}

TEST(FormatMicroTimeTest, AlwaysWritesSixFractionalDigits) {
  const absl::Time t = Utc(2026, 11, 25, 10, 44, 58);
  EXPECT_EQ(FormatMicroTime(t), "2026-11-25T10:44:58.000000Z");
  EXPECT_EQ(FormatMicroTime(t + absl::Microseconds(123456)), "2026-11-25T10:44:58.123456Z");
  EXPECT_EQ(FormatMicroTime(t + absl::Nanoseconds(1999)), "2026-11-25T10:44:58.000001Z");
}

TEST(ParseTimeTest, ReadsTheTimeForm) {
  absl::StatusOr<absl::Time> t = ParseTime("2026-11-25T10:44:58Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, Utc(2026, 11, 25, 10, 44, 58));
}

TEST(ParseTimeTest, ReadsTheMicroTimeForm) {
  absl::StatusOr<absl::Time> t = ParseTime("2026-11-25T10:44:58.123456Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, Utc(2026, 11, 25, 10, 44, 58) + absl::Microseconds(123456));
}

TEST(ParseTimeTest, AppliesOffsets) {
  absl::StatusOr<absl::Time> plus = ParseTime("2026-11-25T12:44:58+02:00");
  ASSERT_TRUE(plus.ok()) << plus.status();
  EXPECT_EQ(*plus, Utc(2026, 11, 25, 10, 44, 58));
  absl::StatusOr<absl::Time> minus = ParseTime("2026-11-25T03:14:58.5-07:30");
  ASSERT_TRUE(minus.ok()) << minus.status();
  EXPECT_EQ(*minus, Utc(2026, 11, 25, 10, 44, 58) + absl::Milliseconds(500));
}

TEST(ParseTimeTest, KeepsNanosecondsAndTruncatesFurtherDigits) {
  absl::StatusOr<absl::Time> t = ParseTime("2026-11-25T10:44:58.1234567891Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, Utc(2026, 11, 25, 10, 44, 58) + absl::Nanoseconds(123456789));
}

TEST(ParseTimeTest, RoundTripsWhatItFormats) {
  const absl::Time t = Utc(2001, 2, 3, 4, 5, 6) + absl::Microseconds(7);
  EXPECT_EQ(*ParseTime(FormatMicroTime(t)), t);
  EXPECT_EQ(*ParseTime(k8s::FormatTime(t)), Utc(2001, 2, 3, 4, 5, 6));
}

TEST(ParseTimeTest, RejectsWhatGoRejects) {
  for (const char* bad : {"", "2026-11-25", "2026-11-25 10:44:58Z", "2026-11-25t10:44:58Z", "2026-11-25T10:44:58z",
                          " 2026-11-25T10:44:58Z", "2026-11-25T10:44:58Z ", "2026-11-25T10:44:58", "2026-11-25T10:44:58.Z",
                          "12026-11-25T10:44:58Z", "2026-02-30T10:44:58Z", "2026-11-25T24:00:00Z", "2026-11-25T10:60:00Z",
                          "2026-11-25T10:44:60Z", "2026-11-25T10:44:58+0200", "2026-11-25T10:44:58+24:00",
                          "2026-13-01T00:00:00Z"}) {
    absl::StatusOr<absl::Time> t = ParseTime(bad);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseTime("yesterday").status().message(),
            "invalid time \"yesterday\": want RFC 3339, e.g. \"2026-11-25T10:44:58Z\"");
}

struct AgeCase {
  absl::Duration d;
  const char* want;
};

// The cases of k8s.io/apimachinery/pkg/util/duration's own test, plus every
// boundary of its rules.
TEST(HumanDurationTest, MatchesKubectlAges) {
  const absl::Duration day = absl::Hours(24);
  const absl::Duration year = day * 365;
  const AgeCase cases[] = {
      {absl::Seconds(-3), "<invalid>"},
      {absl::Seconds(-2), "<invalid>"},
      {absl::Milliseconds(-1999), "0s"},
      {absl::Seconds(-1), "0s"},
      {absl::ZeroDuration(), "0s"},
      {absl::Milliseconds(999), "0s"},
      {absl::Seconds(1), "1s"},
      {absl::Seconds(59), "59s"},
      {absl::Seconds(60), "60s"},
      {absl::Seconds(119), "119s"},
      {absl::Seconds(120), "2m"},
      {absl::Seconds(123), "2m3s"},
      {absl::Minutes(5), "5m"},
      {absl::Minutes(9) + absl::Seconds(59), "9m59s"},
      {absl::Minutes(10), "10m"},
      {absl::Minutes(10) + absl::Seconds(59), "10m"},
      {absl::Minutes(179), "179m"},
      {absl::Hours(3), "3h"},
      {absl::Hours(2) + absl::Minutes(30), "150m"},
      {absl::Hours(3) + absl::Minutes(30), "3h30m"},
      {absl::Hours(7) + absl::Minutes(59), "7h59m"},
      {absl::Hours(8), "8h"},
      {absl::Hours(8) + absl::Minutes(59), "8h"},
      {absl::Hours(47) + absl::Minutes(59), "47h"},
      {absl::Hours(48), "2d"},
      {absl::Hours(51), "2d3h"},
      {day * 7 + absl::Hours(23), "7d23h"},
      {day * 8, "8d"},
      {day * 8 + absl::Hours(23), "8d"},
      {day * 729, "729d"},
      {day * 730, "2y"},
      {day * 733, "2y3d"},
      {year * 8 - day, "7y364d"},
      {year * 8, "8y"},
      {year * 9 + day * 100, "9y"},
  };
  for (const AgeCase& c : cases) EXPECT_EQ(HumanDuration(c.d), c.want) << absl::FormatDuration(c.d);
}

}  // namespace
}  // namespace herd::k8s
