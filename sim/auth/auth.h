// Who is calling kubesim: authentication as a v1.26 API server does it, from
// a static token file (--token-auth-file: `token,user,uid,"group1,group2"`),
// the admin token kubesim writes into its kubeconfig, and ServiceAccount
// tokens kubesim itself signs (the TokenRequest API, `kubectl create token`:
// RS256 JWTs with the claims a real token carries); plus the users that
// impersonation headers name.
//
//   Authenticator authn({.admin_token = "…", .static_tokens = *ParseTokenFile(text)});
//   auto user = authn.Authenticate("Bearer eyJ…", lookup_service_account);
//   // user->name == "system:serviceaccount:shop:ci"
//
// Not thread-safe: kubesim uses it from its loop thread.
#ifndef HERD_SIM_AUTH_AUTH_H_
#define HERD_SIM_AUTH_AUTH_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace herd::sim {

struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;

  bool InGroup(absl::string_view group) const;
};

inline constexpr char kAnonymousUser[] = "system:anonymous";
inline constexpr char kAdminUser[] = "kubesim-admin";
inline constexpr char kServiceAccountPrefix[] = "system:serviceaccount:";
// The audience and issuer of the tokens kubesim signs, as a cluster's.
inline constexpr char kTokenAudience[] = "https://kubernetes.default.svc.cluster.local";

// The anonymous user (system:anonymous, group system:unauthenticated).
UserInfo Anonymous();
// The user a ServiceAccount authenticates as: system:serviceaccount:NS:NAME
// in system:serviceaccounts and system:serviceaccounts:NS.
UserInfo ServiceAccountUser(const std::string& ns, const std::string& name, const std::string& uid);
// "system:serviceaccount:NS:NAME" → {NS, NAME}; nullopt for other names.
std::optional<std::pair<std::string, std::string>> SplitServiceAccountUser(absl::string_view user);

struct StaticToken {
  std::string token;
  UserInfo user;
};

// A --token-auth-file: one `token,user,uid[,"group1,group2"]` per line (CSV;
// blank lines and lines starting with # ignored). INVALID_ARGUMENT names the
// bad line.
absl::StatusOr<std::vector<StaticToken>> ParseTokenFile(absl::string_view text);

// Signs and checks ServiceAccount tokens. The RSA key is made on first use.
class TokenSigner {
 public:
  TokenSigner();
  ~TokenSigner();

  // A JWT for the ServiceAccount, valid from `now` for `ttl`.
  absl::StatusOr<std::string> Issue(const std::string& ns, const std::string& name, const std::string& uid,
                                    const std::vector<std::string>& audiences, absl::Time now, absl::Duration ttl);
  // The claims of a token this signer issued that is valid at `now`;
  // UNAUTHENTICATED otherwise.
  absl::StatusOr<nlohmann::json> Verify(absl::string_view token, absl::Time now);

 private:
  struct Key;
  absl::Status EnsureKey();
  std::unique_ptr<Key> key_;
};

struct AuthenticatorOptions {
  // The admin's bearer token ("" = none): user kubesim-admin in system:masters.
  std::string admin_token;
  std::vector<StaticToken> static_tokens;
};

class Authenticator {
 public:
  // The uid of a live ServiceAccount, or nullopt when it is gone (its tokens
  // stop working, as a real server's do).
  using ServiceAccountLookup = std::function<std::optional<std::string>(const std::string& ns, const std::string& name)>;

  explicit Authenticator(AuthenticatorOptions options);

  // Whether any credential is configured (without one every caller is
  // anonymous).
  bool configured() const { return !options_.admin_token.empty() || !options_.static_tokens.empty(); }

  // The user an Authorization header (and a verified client certificate's
  // CN) names; nullopt for none (anonymous); UNAUTHENTICATED for a token
  // nobody knows. Every authenticated user is in system:authenticated.
  absl::StatusOr<std::optional<UserInfo>> Authenticate(absl::string_view authorization, const std::string& client_cn,
                                                       const ServiceAccountLookup& lookup, absl::Time now);

  TokenSigner& signer() { return signer_; }

 private:
  AuthenticatorOptions options_;
  TokenSigner signer_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_AUTH_AUTH_H_
