// Authentication: a call's credentials (the `authorization` metadata value
// "Bearer TOKEN" and/or the CN of a verified mTLS client certificate) →
// the Principal of the tokens file (policy.h) they belong to.
//
//   auto authn = herd::auth::Authenticator::FromFile("/etc/herd/tokens.yaml");
//   if (!authn.ok()) return authn.status();  // a bad file refuses to start
//   absl::StatusOr<herd::auth::PrincipalRef> who = (*authn)->Authenticate(
//       {.authorization = "Bearer kq3…", .client_cert_cn = ""});
//   if (!who.ok()) return who.status();      // UNAUTHENTICATED, with why
//   authorizer.Authorize(**who, herd::auth::Verb::kScale, "shop", "web");
//
// Tokens rotate without a restart: the file is looked at again (at most
// every `check_interval`) and re-read when its modification time, size or
// inode changed. A file that no longer parses is reported in the log and the
// last good one stays in force, so a half-written file never locks everyone
// out; write it atomically (rename, as Kubernetes Secret volumes do).
//
// Insecure() (herdd --insecure-no-auth) makes every call "anonymous" with
// every verb everywhere; the Authorizer still refuses protected namespaces.
#ifndef HERD_SERVER_AUTH_AUTHENTICATOR_H_
#define HERD_SERVER_AUTH_AUTHENTICATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/policy.h"

namespace herd::auth {

// A principal, kept alive with the tokens file version it came from (so
// it stays valid and unchanged while a call uses it, even across a reload).
using PrincipalRef = std::shared_ptr<const Principal>;

// The name every call gets in insecure mode.
inline constexpr absl::string_view kAnonymous = "anonymous";
// The principal of DelegateToken(kHerddReader): reads everywhere, nothing
// else (herdd's own front ends looking for their operations).
inline constexpr absl::string_view kHerddReader = "system:herdd-reader";

struct Credentials {
  // The `authorization` metadata value (or HTTP header) as received; "" if none.
  absl::string_view authorization;
  // The subject CN of the client certificate, only when TLS verified it; "" if none.
  absl::string_view client_cert_cn;
};

struct AuthenticatorOptions {
  // How often at most the tokens file is stat()ed for changes; zero: on
  // every call.
  absl::Duration check_interval = absl::Seconds(1);
  // The time source for `check_interval`; null: absl::Now.
  std::function<absl::Time()> now;
};

// Thread-safe: Authenticate and Reload may be called from any thread.
class Authenticator {
 public:
  // Reads `path` now. Its error (see LoadPolicyFile) is returned as is.
  static absl::StatusOr<std::unique_ptr<Authenticator>> FromFile(std::string path,
                                                                 AuthenticatorOptions options = {});
  // Every call is principal "anonymous" with AllowEverythingRule().
  static std::unique_ptr<Authenticator> Insecure();

  // The principal the credentials belong to. A bearer token, when sent,
  // decides alone (a bad token is refused even with a good certificate);
  // otherwise the client certificate CN. UNAUTHENTICATED when nothing was
  // sent, the metadata is not "Bearer TOKEN", the token is unknown or the
  // CN maps to nobody; the message says which and never repeats the token.
  // Token digests are compared in constant time, against every token.
  absl::StatusOr<PrincipalRef> Authenticate(const Credentials& credentials);

  // The principal a Slack command or button press from member `user_id` in
  // channel `channel_id` acts as: the one listing the member in slackUsers,
  // else the one listing the channel in slackChannels. UNAUTHENTICATED,
  // naming both ids and the keys an admin would add, when neither maps.
  // Insecure mode: "slack:USER_ID" with every verb.
  absl::StatusOr<PrincipalRef> AuthenticateSlack(absl::string_view user_id, absl::string_view channel_id);

  // A bearer token that Authenticate maps to principal `name` for the life
  // of this Authenticator: an HMAC of the name under a random key made at
  // construction, kept in memory only. herdd's own front ends (Slack) call
  // its gRPC API in-process with it, so one service authorizes and audits
  // every call. A name the tokens file no longer has is refused.
  std::string DelegateToken(absl::string_view name) const;
  // A delegate token for principal `name` acting with the rules and groups
  // the tokens file gives principal `acting_for` at the time of each call
  // (a standing policy, "policy:ID", acting for its creator): refused once
  // the file no longer names `acting_for`. In insecure mode `name` may do
  // everything.
  std::string DelegateToken(absl::string_view name, absl::string_view acting_for) const;

  // Re-reads the tokens file now, whether it changed or not. On error the
  // previous policy stays in force. OK and a no-op in insecure mode.
  absl::Status Reload();

  bool insecure() const { return path_.empty(); }
  const std::string& path() const { return path_; }

  // The Kubernetes groups the tokens file gives the principal named `name`
  // (empty when it gives none, or no longer names it).
  std::vector<std::string> GroupsOf(absl::string_view name);

  // The tokens file in force (its principals and approval rules); in
  // insecure mode one principal "anonymous" and no approval rules.
  std::shared_ptr<const Policy> policy();

 private:
  // Identifies one version of the file on disk.
  struct FileStamp {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    uint64_t inode = 0;
    uint64_t device = 0;
    bool operator==(const FileStamp&) const = default;
  };

  Authenticator(std::string path, AuthenticatorOptions options);
  std::shared_ptr<const Policy> Current() const;
  void MaybeReload();
  absl::Status ReloadLocked(bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);

  // The principal a DelegateToken names, or UNAUTHENTICATED; nullopt when
  // `token` is not one.
  std::optional<absl::StatusOr<PrincipalRef>> FromDelegateToken(absl::string_view token,
                                                                const std::shared_ptr<const Policy>& policy) const;

  const std::string path_;  // "" in insecure mode
  const std::string delegate_key_;  // random, made at construction
  const AuthenticatorOptions options_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> policy_ ABSL_GUARDED_BY(mu_);
  absl::Time next_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  // Held while the file is read, so one thread reloads and the others go on
  // with the policy they have.
  absl::Mutex reload_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  FileStamp stamp_ ABSL_GUARDED_BY(reload_mu_);
  // Set once a read of the current file version failed, so each broken
  // version is reported once, not on every check.
  bool stamp_failed_ ABSL_GUARDED_BY(reload_mu_) = false;
};

}  // namespace herd::auth

#endif  // HERD_SERVER_AUTH_AUTHENTICATOR_H_
