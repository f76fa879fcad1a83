// Who may do what: the principals of herd's tokens file, their credentials
// and their rules (verbs × namespaces × workload name patterns), and the
// file's parser. Authenticator (authenticator.h) maps credentials to a
// Principal; Authorizer (authorizer.h) checks a Principal's rules.
//
// The tokens file (YAML):
//
//   principals:
//     - name: ci-shop
//       tokens:
//         - token: "kq3…"                 # the bearer token itself
//         - tokenSha256: "9f86d08…"       # or the hex SHA-256 of it
//       clientCertCN: ci-shop.example.com # optional: mTLS client certificates
//       slackUsers: [U024BE7LH]           # optional: Slack members acting as it
//       slackChannels: [C0SHOPOPS]        # optional: anyone in these channels
//       groups: [ci, shop-deployers]      # optional: Kubernetes groups (herdd --impersonate)
//       rules:
//         - verbs: [rollout, undo, scale, read]
//           namespaces: [shop, "team-*"]  # globs; "*" is every namespace
//           workloads: ["web-*"]          # globs; default "*"
//         - verbs: ["*"]
//           namespaces: [kube-system]
//           allowProtected: true          # needed for protected namespaces
//         - verbs: [approve]              # may approve others' held operations
//           namespaces: ["prod-*"]
//   approvals:                            # optional: operations held for approval
//     - name: prod                        # optional; default "approvals[N]"
//       namespaces: ["prod-*"]
//       workloads: ["*"]                  # default "*"
//       verbs: [rollout, purge]           # default: every verb that writes (not cancel)
//       timeout: 1h                       # how long approvers have; default 1h
//
// `token:` and `tokenSha256:` may also stand directly on a principal for a
// single token. Glob patterns know `*` (any run of characters) and `?` (one
// character); quote them, since a bare `*` is YAML alias syntax.
//
//   absl::StatusOr<Policy> policy = LoadPolicyFile("/etc/herd/tokens.yaml");
//   if (!policy.ok()) return policy.status();  // "tokens.yaml:7:9: unknown verb …"
//
// Everything here is immutable once built and safe to share across threads.
#ifndef HERD_SERVER_AUTH_POLICY_H_
#define HERD_SERVER_AUTH_POLICY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace herd::auth {

// What a call does, as rules name it. kRead covers get, list and watch of
// workloads and operations; kCronJob every CronJob action; kApprove
// approving or rejecting an operation an approval rule holds.
enum class Verb : uint8_t { kRollout, kUndo, kScale, kPurge, kKill, kCronJob, kRead, kCancel, kApprove };

// "rollout", "undo", …, "read", "cancel".
absl::string_view VerbName(Verb verb);
// The verb called `name` ("get", "list" and "watch" are "read"); nullopt for
// anything else, including "*".
std::optional<Verb> ParseVerb(absl::string_view name);
// Every verb but kRead changes something in the cluster.
inline bool IsMutating(Verb verb) { return verb != Verb::kRead; }

// Whether `text` matches `pattern`: `*` is any run of characters (also
// none), `?` exactly one, everything else itself.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

using Sha256 = std::array<uint8_t, 32>;
Sha256 ComputeSha256(absl::string_view data);
// HMAC-SHA256 of `data` under `key`.
Sha256 HmacSha256(absl::string_view key, absl::string_view data);
// Lowercase hex of bytes, of a digest.
std::string HexOf(absl::string_view bytes);
inline std::string HexOf(const Sha256& digest) {
  return HexOf(absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

struct Rule {
  uint32_t verbs = 0;  // bit (1 << Verb) per allowed verb
  std::vector<std::string> namespaces;  // globs
  std::vector<std::string> workloads;   // globs
  // Lets the rule's mutating verbs reach protected namespaces.
  bool allow_protected = false;

  bool AllowsVerb(Verb verb) const { return (verbs >> static_cast<unsigned>(verb)) & 1u; }
  bool MatchesNamespace(absl::string_view ns) const;
  bool MatchesWorkload(absl::string_view name) const;
};

// A rule for every verb, namespace and workload (protected namespaces not
// included).
Rule AllowEverythingRule();

struct Principal {
  std::string name;
  // Digests of the principal's bearer tokens; plain tokens are hashed when
  // the file is read, so no token is kept in memory as given.
  std::vector<Sha256> token_sha256;
  std::string client_cert_cn;  // "" when certificates do not map here
  // Slack member ids ("U024BE7LH") whose commands act as this principal,
  // and channel ids ("C456") whose members' commands do when their own id
  // maps nowhere (see Authenticator::AuthenticateSlack).
  std::vector<std::string> slack_users;
  std::vector<std::string> slack_channels;
  // The Kubernetes groups herd's writes carry as Impersonate-Group, besides
  // the principal's name as Impersonate-User (herdd --impersonate).
  std::vector<std::string> groups;
  std::vector<Rule> rules;
  // A delegate acting with another principal's rules (a standing policy,
  // "policy:ID", acting for its creator): that principal's name; "" for
  // everyone else.
  std::string acting_for;
};

// Operations an approval rule matches wait for a principal allowed to
// approve them (verb `approve`), never their requester, before they start.
struct ApprovalRule {
  // As the tokens file names it, or "approvals[N]" (N from 0).
  std::string name;
  uint32_t verbs = 0;  // bit (1 << Verb); never kRead, kCancel or kApprove
  std::vector<std::string> namespaces;  // globs
  std::vector<std::string> workloads;   // globs
  // Not approved within this long after it was asked for, an operation
  // ends CANCELLED.
  absl::Duration timeout = absl::Hours(1);

  bool AppliesTo(Verb verb) const { return (verbs >> static_cast<unsigned>(verb)) & 1u; }
};

struct Policy {
  std::vector<Principal> principals;
  std::vector<ApprovalRule> approvals;
};

// The first approval rule of `policy` holding `verb` on `workload` in `ns`,
// or null. `workload` "" (every workload of the namespace: a selector) is
// held by any rule on the namespace.
const ApprovalRule* ApprovalRuleFor(const Policy& policy, Verb verb, absl::string_view ns,
                                    absl::string_view workload);

// Parses a tokens file. `source` names it in messages. Errors are
// INVALID_ARGUMENT as "SOURCE:LINE:COLUMN: what is wrong" (lines from 1):
// malformed YAML, unknown keys, unknown verbs, a principal without a name,
// without credentials or without rules, a name, token, CN or Slack id used twice, a
// tokenSha256 that is not 64 hex digits; an approval rule without
// namespaces, with a verb that does not write, or a timeout that is not a
// positive duration ("30m", "1h") of at most 7 days.
absl::StatusOr<Policy> ParsePolicy(absl::string_view yaml, absl::string_view source);

// Reads and parses `path`. NOT_FOUND / PERMISSION_DENIED / … when it cannot
// be read.
absl::StatusOr<Policy> LoadPolicyFile(const std::string& path);

}  // namespace herd::auth

#endif  // HERD_SERVER_AUTH_POLICY_H_
