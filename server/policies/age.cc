#include "server/policies/age.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/k8s/time.h"

namespace herd::policies {
namespace {

std::string Ordinal(int k) {
  const int tens = k % 100, ones = k % 10;
  const char* suffix = tens >= 11 && tens <= 13 ? "th" : ones == 1 ? "st" : ones == 2 ? "nd" : ones == 3 ? "rd" : "th";
  return absl::StrCat(k, suffix);
}

}  // namespace

absl::Duration AgeBound(int k, int desired, absl::Duration max_age) {
  if (desired < 1) return max_age;
  k = std::clamp(k, 1, desired);
  return max_age * (desired - k + 1) / desired;
}

AgeVerdict PodsPastTheirTurn(std::vector<AgedPod> pods, int desired, absl::Duration max_age, absl::Time now) {
  AgeVerdict v;
  if (desired < 1 || pods.empty()) return v;
  // Oldest first; among pods of one age, by name (as a purge orders them).
  std::sort(pods.begin(), pods.end(), [](const AgedPod& a, const AgedPod& b) {
    return a.started != b.started ? a.started < b.started : a.name < b.name;
  });
  const int n = static_cast<int>(pods.size());
  auto age = [&](int i) { return now - pods[static_cast<size_t>(i)].started; };
  // With the `r` oldest replaced, pod i (0-based, oldest first; i >= r)
  // becomes the (i − r + 1)-th oldest.
  for (int r = 0; r <= n; ++r) {
    bool within = true;
    for (int i = r; i < n && within; ++i) within = age(i) <= AgeBound(i - r + 1, desired, max_age);
    if (within) {
      v.replace = r;
      break;
    }
  }
  if (v.replace > 0) {
    // The pod furthest past its bound, as things stand.
    int worst = -1;
    absl::Duration over;
    for (int i = 0; i < n; ++i) {
      const absl::Duration past = age(i) - AgeBound(i + 1, desired, max_age);
      if (past > absl::ZeroDuration() && (worst < 0 || past > over)) {
        worst = i;
        over = past;
      }
    }
    const int k = worst + 1;
    v.why = absl::StrCat(pods[static_cast<size_t>(worst)].name, " is ", k8s::HumanDuration(age(worst)), " old, past ",
                         k8s::HumanDuration(AgeBound(k, desired, max_age)), " (the bound of the ",
                         k == 1 ? "oldest" : absl::StrCat(Ordinal(k), " oldest"),
                         " of ", desired, " pods: at most ", k8s::HumanDuration(max_age), ", spread evenly)");
    return v;
  }
  // Ranks hold while time passes: pod i crosses its bound at its start
  // plus that bound.
  for (int i = 0; i < n; ++i) {
    v.next = std::min(v.next, pods[static_cast<size_t>(i)].started + AgeBound(i + 1, desired, max_age));
  }
  return v;
}

}  // namespace herd::policies
