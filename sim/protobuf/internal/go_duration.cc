#include "sim/protobuf/internal/go_duration.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace herd::sim::protobuf_internal {

std::string FormatGoDuration(int64_t nanos) {
  if (nanos == 0) return "0s";
  bool neg = nanos < 0;
  uint64_t u = neg ? ~static_cast<uint64_t>(nanos) + 1 : static_cast<uint64_t>(nanos);
  // The fraction of v / 10^prec without trailing zeros, and the integer part.
  auto frac = [](uint64_t v, int prec) {
    std::string digits;
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      auto digit = static_cast<char>('0' + v % 10);
      print = print || digit != '0';
      if (print) digits.insert(digits.begin(), digit);
      v /= 10;
    }
    return std::make_pair(digits.empty() ? std::string() : absl::StrCat(".", digits), v);
  };
  std::string out;
  if (u < 1000000000) {
    const char* unit;
    int prec;
    if (u < 1000) {
      unit = "ns";
      prec = 0;
    } else if (u < 1000000) {
      unit = "\xc2\xb5s";  // µs, as Go writes it
      prec = 3;
    } else {
      unit = "ms";
      prec = 6;
    }
    auto [fraction, whole] = frac(u, prec);
    out = absl::StrCat(whole, fraction, unit);
  } else {
    auto [fraction, secs] = frac(u, 9);
    out = absl::StrCat(secs % 60, fraction, "s");
    uint64_t mins = secs / 60;
    if (mins > 0) {
      out = absl::StrCat(mins % 60, "m", out);
      if (mins / 60 > 0) out = absl::StrCat(mins / 60, "h", out);
    }
  }
  return neg ? absl::StrCat("-", out) : out;
}

}  // namespace herd::sim::protobuf_internal
