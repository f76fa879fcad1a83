// herd's tokens file and the credentials of a call (server/auth):
//  - the whole input as a tokens file (YAML) through ParsePolicy; a policy
//    that parses is then asked about every verb in namespaces and workloads
//    taken from the input's lines;
//  - each line as a call's `authorization` value and client certificate CN,
//    against an Authenticator over a fixed tokens file;
//  - pairs of lines through GlobMatch.
// A bad file is INVALID_ARGUMENT with its line and column; a bad credential
// UNAUTHENTICATED. Nothing crashes or throws.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/auth/authenticator.h"
#include "server/auth/authorizer.h"
#include "server/auth/policy.h"

namespace {

namespace auth = herd::auth;

constexpr char kTokensFile[] = R"(principals:
  - name: ci-shop
    tokens:
      - token: "kq3-shop"
      - tokenSha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    clientCertCN: ci-shop.example.com
    rules:
      - verbs: [rollout, undo, scale, read]
        namespaces: [shop, "team-*"]
        workloads: ["web-*"]
  - name: admin
    token: "root"
    rules:
      - verbs: ["*"]
        namespaces: ["*"]
        allowProtected: true
)";

auth::Authenticator* authenticator = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/herd-policy-fuzzer-" + std::to_string(getpid());
  std::ofstream(path) << kTokensFile;
  auto a = auth::Authenticator::FromFile(path, {.check_interval = absl::InfiniteDuration()});
  if (!a.ok()) std::abort();
  authenticator = a->release();
  // The first call looks at the file once more; with an infinite
  // check_interval nothing does after that, so it can go.
  (void)authenticator->Authenticate({.authorization = "Bearer root"});
  unlink(path.c_str());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');

  absl::StatusOr<auth::Policy> policy = auth::ParsePolicy(input, "fuzz.yaml");
  if (!policy.ok() && policy.status().code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
  if (policy.ok()) {
    const auth::Authorizer authorizer;
    for (const auth::Principal& p : policy->principals) {
      if (p.name.empty() || p.rules.empty()) __builtin_trap();  // ParsePolicy refuses both
      for (size_t i = 0; i < lines.size() && i < 4; ++i) {
        const absl::string_view ns = lines[i];
        const absl::string_view workload = lines[lines.size() - 1 - i];
        for (int v = 0; v <= static_cast<int>(auth::Verb::kApprove); ++v) {
          (void)authorizer.Authorize(p, static_cast<auth::Verb>(v), ns, workload);
          (void)authorizer.AuthorizeNamespace(p, static_cast<auth::Verb>(v), ns);
        }
      }
    }
  }

  for (size_t i = 0; i < lines.size() && i < 8; ++i) {
    const absl::string_view line = lines[i];
    (void)auth::ParseVerb(line);
    absl::StatusOr<auth::PrincipalRef> who =
        authenticator->Authenticate({.authorization = line, .client_cert_cn = lines[(i + 1) % lines.size()]});
    if (!who.ok() && who.status().code() != absl::StatusCode::kUnauthenticated) __builtin_trap();
    if (who.ok() && *who == nullptr) __builtin_trap();
    (void)auth::GlobMatch(line, lines[(i + 1) % lines.size()]);
  }
  return 0;
}
