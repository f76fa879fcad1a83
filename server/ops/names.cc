#include "server/ops/names.h"

#include <openssl/sha.h>

#include <algorithm>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace herd::ops {
namespace {

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

const kube::Resource* ResourceFor(absl::string_view plural) {
  for (const kube::Resource* r : {&kube::kDeployments, &kube::kStatefulSets, &kube::kCronJobs, &kube::kPods}) {
    if (r->plural == plural) return r;
  }
  return nullptr;
}

}  // namespace

std::string WorkloadName::ToString() const {
  return absl::StrCat("namespaces/", ns, "/", resource ? resource->plural : "?", "/", name);
}

std::string WorkloadName::Short() const { return absl::StrCat(resource ? resource->plural : "?", "/", name); }

absl::StatusOr<WorkloadName> ParseWorkloadName(absl::string_view text, const std::vector<std::string>& allowed) {
  std::vector<std::string> allowed_list = allowed;
  if (allowed_list.empty()) allowed_list = {"deployments", "statefulsets", "cronjobs", "pods"};
  auto bad = [&] {
    std::vector<std::string> forms;
    for (const auto& a : allowed_list) forms.push_back(absl::StrCat("namespaces/NAMESPACE/", a, "/NAME"));
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a resource name of the form ",
                                                   absl::StrJoin(forms, " or ")));
  };
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  if (parts.size() != 4 || parts[0] != "namespaces" || parts[1].empty() || parts[3].empty()) return bad();
  if (std::find(allowed_list.begin(), allowed_list.end(), parts[2]) == allowed_list.end()) return bad();
  WorkloadName w;
  w.ns = parts[1];
  w.resource = ResourceFor(parts[2]);
  w.name = parts[3];
  if (!w.resource) return bad();
  for (const std::string* s : {&w.ns, &w.name}) {
    for (char c : *s) {
      if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '.')) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", *s, "\" in \"", text, "\" is not a valid Kubernetes name (lower case letters, digits, '-', '.')"));
      }
    }
  }
  return w;
}

absl::StatusOr<std::string> ParseOperationName(absl::string_view text) {
  if (!absl::StartsWith(text, "operations/") || text.size() == strlen("operations/") ||
      text.substr(strlen("operations/")).find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an operation name (operations/ID)"));
  }
  return std::string(text.substr(strlen("operations/")));
}

std::string NewOperationId(absl::Time now) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int> d(0, sizeof(kAlphabet) - 2);
  std::string suffix;
  for (int i = 0; i < 5; ++i) suffix.push_back(kAlphabet[d(rng)]);
  return absl::StrCat(absl::FormatTime("%Y%m%d-%H%M%S", now, absl::UTCTimeZone()), "-", suffix);
}

std::string OperationIdForRequest(absl::string_view principal, absl::string_view request_id) {
  return absl::StrCat("req-", Sha256Hex(absl::StrCat(principal, "\n", request_id)).substr(0, 24));
}

std::string SafeName(absl::string_view prefix, const std::vector<std::string>& parts) {
  std::string joined = absl::StrCat(prefix, absl::StrJoin(parts, "-"));
  std::string clean;
  // Whether two different inputs could come out the same: a '/' (between
  // the parts of a key, never in a Kubernetes name) is not counted.
  bool lossy = false;
  for (char c : joined) {
    char lower = absl::ascii_tolower(c);
    if (absl::ascii_isalnum(lower) || lower == '-') {
      clean.push_back(lower);
      lossy |= lower != c;
    } else {
      clean.push_back('-');
      lossy |= c != '/';
    }
  }
  const bool valid_ends = !clean.empty() && absl::ascii_isalnum(clean.front()) && absl::ascii_isalnum(clean.back());
  if (clean.size() <= 63 && valid_ends && !lossy) return clean;
  std::string hash = Sha256Hex(joined).substr(0, 10);
  return absl::StrCat(clean.substr(0, std::min<size_t>(clean.size(), 52)), "-", hash);
}

std::string OperationVerb(v1::OperationKind kind) {
  switch (kind) {
    case v1::OPERATION_KIND_ROLLOUT: return "rollout";
    case v1::OPERATION_KIND_UNDO: return "undo";
    case v1::OPERATION_KIND_SCALE: return "scale";
    case v1::OPERATION_KIND_PURGE: return "purge";
    case v1::OPERATION_KIND_KILL: return "kill";
    default: return "cronjob";
  }
}

}  // namespace herd::ops
