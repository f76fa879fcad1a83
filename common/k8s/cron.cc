#include "common/k8s/cron.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"

namespace herd::k8s {
namespace {

// robfig/cron marks fields given as "*" or "?" so that the day fields can
// tell "every day" from a restriction.
constexpr uint64_t kStar = uint64_t{1} << 63;

struct Bounds {
  unsigned min, max;
  std::vector<std::string> names;  // names[i] is value min+i… as robfig keys them
  unsigned names_base;
};

const Bounds kMinutes{0, 59, {}, 0};
const Bounds kHours{0, 23, {}, 0};
const Bounds kDom{1, 31, {}, 0};
const Bounds kMonths{1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}, 1};
const Bounds kDow{0, 6, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, 0};

absl::Status Bad(const std::string& msg) { return absl::InvalidArgumentError(msg); }

absl::StatusOr<unsigned> ParseInt(absl::string_view s) {
  int v = 0;
  if (!absl::SimpleAtoi(s, &v)) {
    return Bad(absl::StrCat("failed to parse int from ", s, ": strconv.Atoi: parsing \"", s, "\": invalid syntax"));
  }
  if (v < 0) return Bad(absl::StrCat("negative number (", v, ") not allowed: ", s));
  return static_cast<unsigned>(v);
}

absl::StatusOr<unsigned> ParseIntOrName(absl::string_view s, const Bounds& b) {
  std::string lower = absl::AsciiStrToLower(s);
  for (size_t i = 0; i < b.names.size(); ++i) {
    if (b.names[i] == lower) return static_cast<unsigned>(i) + b.names_base;
  }
  return ParseInt(s);
}

uint64_t Bits(unsigned min, unsigned max, unsigned step) {
  uint64_t bits = 0;
  for (unsigned i = min; i <= max; i += step) bits |= uint64_t{1} << i;
  return bits;
}

absl::StatusOr<uint64_t> ParseRange(absl::string_view expr, const Bounds& b) {
  std::vector<absl::string_view> range_and_step = absl::StrSplit(expr, '/');
  std::vector<absl::string_view> low_high = absl::StrSplit(range_and_step[0], '-');
  bool single = low_high.size() == 1;
  unsigned start, end, step = 1;
  uint64_t extra = 0;
  if (low_high[0] == "*" || low_high[0] == "?") {
    start = b.min;
    end = b.max;
    extra = kStar;
  } else {
    auto s = ParseIntOrName(low_high[0], b);
    if (!s.ok()) return s.status();
    start = *s;
    if (low_high.size() == 1) {
      end = start;
    } else if (low_high.size() == 2) {
      auto e = ParseIntOrName(low_high[1], b);
      if (!e.ok()) return e.status();
      end = *e;
    } else {
      return Bad(absl::StrCat("too many hyphens: ", expr));
    }
  }
  if (range_and_step.size() == 2) {
    auto s = ParseInt(range_and_step[1]);
    if (!s.ok()) return s.status();
    step = *s;
    // "N/step" means "N-max/step".
    if (single) end = b.max;
    if (step > 1) extra = 0;
  } else if (range_and_step.size() > 2) {
    return Bad(absl::StrCat("too many slashes: ", expr));
  }
  if (start < b.min) return Bad(absl::StrCat("beginning of range (", start, ") below minimum (", b.min, "): ", expr));
  if (end > b.max) return Bad(absl::StrCat("end of range (", end, ") above maximum (", b.max, "): ", expr));
  if (start > end) return Bad(absl::StrCat("beginning of range (", start, ") beyond end of range (", end, "): ", expr));
  if (step == 0) return Bad(absl::StrCat("step of range should be a positive number: ", expr));
  return Bits(start, end, step) | extra;
}

absl::StatusOr<uint64_t> ParseField(absl::string_view field, const Bounds& b) {
  uint64_t bits = 0;
  for (absl::string_view expr : absl::StrSplit(field, ',')) {
    auto r = ParseRange(expr, b);
    if (!r.ok()) return r.status();
    bits |= *r;
  }
  return bits;
}

// Go's time.ParseDuration, for "@every 1h30m".
absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view s) {
  absl::Duration d;
  if (!absl::ParseDuration(s, &d) || d < absl::ZeroDuration()) {
    return Bad(absl::StrCat("failed to parse duration ", s, ": time: invalid duration \"", s, "\""));
  }
  return d;
}

bool Has(uint64_t bits, int v) { return (bits >> v) & 1; }

// Kubernetes' validTimeZoneCharacters, for each part of a zone name.
bool ValidZonePart(absl::string_view part) {
  if (part.empty() || part.size() > 14 || part == "." || part == ".." || part[0] == '-') return false;
  for (char c : part) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' && c != '+') {
      return false;
    }
  }
  return true;
}

}  // namespace

bool LoadCronTimeZone(absl::string_view name, absl::TimeZone* tz) {
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (!ValidZonePart(part)) return false;
  }
  if (name == "UTC") {
    *tz = absl::UTCTimeZone();
    return true;
  }
  // Where absl looks (TZDIR, else the system's database).
  const char* tzdir = std::getenv("TZDIR");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(
          std::filesystem::path(tzdir != nullptr && *tzdir != '\0' ? tzdir : "/usr/share/zoneinfo") / std::string(name),
          ec)) {
    return false;
  }
  return absl::LoadTimeZone(std::string(name), tz);
}

absl::StatusOr<CronSchedule> CronSchedule::Parse(absl::string_view spec_in) {
  std::string spec(absl::StripAsciiWhitespace(spec_in));
  if (spec.empty()) return Bad("empty spec string");
  CronSchedule s;
  s.zone_ = absl::UTCTimeZone();
  if (absl::StartsWith(spec, "TZ=") || absl::StartsWith(spec, "CRON_TZ=")) {
    size_t eq = spec.find('='), sp = spec.find(' ');
    std::string name = spec.substr(eq + 1, sp == std::string::npos ? std::string::npos : sp - eq - 1);
    if (!LoadCronTimeZone(name, &s.zone_)) {
      return Bad(absl::StrCat("provided bad location ", name, ": unknown time zone ", name));
    }
    s.zone_name_ = name;
    spec = sp == std::string::npos ? "" : std::string(absl::StripAsciiWhitespace(spec.substr(sp)));
  }
  if (absl::StartsWith(spec, "@")) {
    static const std::pair<const char*, const char*> kDescriptors[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"}};
    for (const auto& [name, fields] : kDescriptors) {
      if (spec == name) {
        auto parsed = Parse(fields);
        if (!parsed.ok()) return parsed.status();
        parsed->zone_ = s.zone_;
        parsed->zone_name_ = s.zone_name_;
        return parsed;
      }
    }
    if (absl::StartsWith(spec, "@every ")) {
      auto d = ParseGoDuration(absl::StripAsciiWhitespace(spec.substr(7)));
      if (!d.ok()) return d.status();
      // robfig keeps whole seconds, at least one.
      s.every_ = std::max(absl::Seconds(1), absl::Trunc(*d, absl::Seconds(1)));
      return s;
    }
    return Bad(absl::StrCat("unrecognized descriptor: ", spec));
  }
  std::vector<std::string> fields = absl::StrSplit(spec, ' ', absl::SkipEmpty());
  if (fields.size() != 5) {
    return Bad(
        absl::StrCat("expected exactly 5 fields, found ", fields.size(), ": [", absl::StrJoin(fields, " "), "]"));
  }
  const Bounds* bounds[] = {&kMinutes, &kHours, &kDom, &kMonths, &kDow};
  uint64_t* out[] = {&s.minute_, &s.hour_, &s.dom_, &s.month_, &s.dow_};
  for (int i = 0; i < 5; ++i) {
    auto bits = ParseField(fields[static_cast<size_t>(i)], *bounds[i]);
    if (!bits.ok()) return bits.status();
    *out[i] = *bits;
  }
  return s;
}

absl::Time CronSchedule::Next(absl::Time t, const absl::TimeZone& tz_in) const {
  if (every_ > absl::ZeroDuration()) return absl::FromUnixSeconds(absl::ToUnixSeconds(t)) + every_;
  const absl::TimeZone tz = zone_name_.empty() ? tz_in : zone_;
  // Activations are on whole minutes; start at the first one after t.
  absl::CivilMinute c = absl::ToCivilMinute(t, tz) + 1;
  const absl::civil_year_t limit = c.year() + 5;
  auto day_matches = [&](absl::CivilDay d) {
    bool dom = Has(dom_, d.day());
    bool dow = Has(dow_, static_cast<int>((static_cast<int>(absl::GetWeekday(d)) + 1) % 7));
    if ((dom_ & kStar) || (dow_ & kStar)) return dom && dow;
    return dom || dow;
  };
  while (c.year() <= limit) {
    if (!Has(month_, c.month())) {
      c = absl::CivilMinute(absl::CivilMonth(c) + 1);
      continue;
    }
    if (!day_matches(absl::CivilDay(c))) {
      c = absl::CivilMinute(absl::CivilDay(c) + 1);
      continue;
    }
    if (!Has(hour_, c.hour())) {
      c = absl::CivilMinute(absl::CivilHour(c) + 1);
      continue;
    }
    if (!Has(minute_, c.minute())) {
      c += 1;
      continue;
    }
    // In the hour a zone repeats when its clocks go back, a minute of the
    // second pass maps to the first; that one has passed.
    if (absl::Time at = absl::FromCivil(c, tz); at > t) return at;
    c += 1;
  }
  return absl::InfiniteFuture();
}

}  // namespace herd::k8s
