#include "server/auth/authenticator.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "openssl/crypto.h"
#include "openssl/rand.h"

namespace herd::auth {
namespace {

constexpr absl::string_view kBearer = "bearer";

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(why);
}

constexpr absl::string_view kDelegatePrefix = "herdd-delegate.";

std::string RandomKey() {
  std::string key(32, '\0');
  // RAND_bytes fails only when the system's entropy source does; herdd then
  // cannot make a key no one could guess, and must not start.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    log::Error("no random bytes for the delegate key");
    std::abort();
  }
  return key;
}

std::optional<std::string> FromHex(absl::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (char c : hex.substr(i, 2)) {
      int d = absl::ascii_isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    out.push_back(static_cast<char>(v));
  }
  return out;
}

// A principal of its own for insecure mode, where every caller may do
// everything but names still matter in the audit.
PrincipalRef AllowedEverything(std::string name) {
  auto p = std::make_shared<Principal>();
  p->name = std::move(name);
  p->rules.push_back(AllowEverythingRule());
  return p;
}

}  // namespace

Authenticator::Authenticator(std::string path, AuthenticatorOptions options)
    : path_(std::move(path)), delegate_key_(RandomKey()), options_(std::move(options)) {}

std::string Authenticator::DelegateToken(absl::string_view name) const {
  return absl::StrCat(kDelegatePrefix, HexOf(name), ".", HexOf(HmacSha256(delegate_key_, name)));
}

std::string Authenticator::DelegateToken(absl::string_view name, absl::string_view acting_for) const {
  // NUL is in no principal's name: "name\0acting_for" reads back one way.
  return DelegateToken(absl::StrCat(name, absl::string_view("\0", 1), acting_for));
}

std::optional<absl::StatusOr<PrincipalRef>> Authenticator::FromDelegateToken(
    absl::string_view token, const std::shared_ptr<const Policy>& policy) const {
  if (!absl::StartsWith(token, kDelegatePrefix)) return std::nullopt;
  token.remove_prefix(kDelegatePrefix.size());
  size_t dot = token.find('.');
  std::optional<std::string> name = FromHex(token.substr(0, dot));
  Sha256 expected = HmacSha256(delegate_key_, name.value_or(""));
  std::string given = dot == absl::string_view::npos ? "" : std::string(token.substr(dot + 1));
  std::string want = HexOf(expected);
  if (!name || given.size() != want.size() || CRYPTO_memcmp(given.data(), want.data(), want.size()) != 0) {
    return Unauthenticated("a delegate token that this herdd did not make");
  }
  if (*name == kHerddReader) {
    auto reader = std::make_shared<Principal>();
    reader->name = *name;
    Rule read;
    read.verbs = 1u << static_cast<unsigned>(Verb::kRead);
    read.namespaces = {"*"};
    read.workloads = {"*"};
    reader->rules.push_back(std::move(read));
    return PrincipalRef(std::move(reader));
  }
  std::string acting_for;
  const size_t nul = name->find('\0');
  const bool delegated = nul != std::string::npos;
  if (delegated) {
    acting_for = name->substr(nul + 1);
    name->resize(nul);
    if (acting_for.empty() || name->empty() || acting_for.find('\0') != std::string::npos) {
      return Unauthenticated("a delegate token that this herdd did not make");
    }
  }
  if (insecure()) {
    PrincipalRef all = AllowedEverything(*name);
    if (!delegated) return all;
    auto as = std::make_shared<Principal>(*all);
    as->acting_for = acting_for;
    return PrincipalRef(std::move(as));
  }
  for (const Principal& p : policy->principals) {
    if (!delegated && p.name == *name) return PrincipalRef(policy, &p);
    if (delegated && p.name == acting_for) {
      auto as = std::make_shared<Principal>();
      as->name = *name;
      as->groups = p.groups;
      as->rules = p.rules;
      as->acting_for = acting_for;
      return PrincipalRef(std::move(as));
    }
  }
  return Unauthenticated(absl::StrCat("principal \"", acting_for.empty() ? *name : acting_for,
                                      "\" is no longer in the tokens file ", path_));
}

absl::StatusOr<PrincipalRef> Authenticator::AuthenticateSlack(absl::string_view user_id,
                                                              absl::string_view channel_id) {
  if (insecure()) return AllowedEverything(absl::StrCat("slack:", user_id));
  MaybeReload();
  std::shared_ptr<const Policy> policy = Current();
  const Principal* by_channel = nullptr;
  for (const Principal& p : policy->principals) {
    for (const std::string& u : p.slack_users) {
      if (u == user_id) return PrincipalRef(policy, &p);
    }
    for (const std::string& c : p.slack_channels) {
      if (c == channel_id) by_channel = &p;
    }
  }
  if (by_channel != nullptr) return PrincipalRef(policy, by_channel);
  return Unauthenticated(absl::StrCat("Slack member ", user_id, " is not known to herd here: no principal of its "
                                      "tokens file lists it in slackUsers, nor this channel (", channel_id,
                                      ") in slackChannels. Ask herd's admins to add one of them."));
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::FromFile(std::string path,
                                                                       AuthenticatorOptions options) {
  if (path.empty()) return absl::InvalidArgumentError("no tokens file given");
  std::unique_ptr<Authenticator> a(new Authenticator(std::move(path), std::move(options)));
  absl::MutexLock lock(&a->reload_mu_);
  if (absl::Status st = a->ReloadLocked(/*force=*/true); !st.ok()) return st;
  return a;
}

std::unique_ptr<Authenticator> Authenticator::Insecure() {
  std::unique_ptr<Authenticator> a(new Authenticator("", {}));
  auto policy = std::make_shared<Policy>();
  Principal anonymous;
  anonymous.name = std::string(kAnonymous);
  anonymous.rules.push_back(AllowEverythingRule());
  policy->principals.push_back(std::move(anonymous));
  absl::MutexLock lock(&a->mu_);
  a->policy_ = std::move(policy);
  return a;
}

std::shared_ptr<const Policy> Authenticator::Current() const {
  absl::MutexLock lock(&mu_);
  return policy_;
}

std::vector<std::string> Authenticator::GroupsOf(absl::string_view name) {
  if (!insecure()) MaybeReload();
  std::shared_ptr<const Policy> policy = Current();
  for (const auto& p : policy->principals) {
    if (p.name == name) return p.groups;
  }
  return {};
}

std::shared_ptr<const Policy> Authenticator::policy() {
  if (!insecure()) MaybeReload();
  return Current();
}

absl::StatusOr<PrincipalRef> Authenticator::Authenticate(const Credentials& credentials) {
  if (!insecure()) MaybeReload();
  std::shared_ptr<const Policy> policy = Current();

  absl::string_view header = absl::StripAsciiWhitespace(credentials.authorization);
  bool bearer = header.size() > kBearer.size() && absl::StartsWithIgnoreCase(header, kBearer) &&
                (header[kBearer.size()] == ' ' || header[kBearer.size()] == '\t');
  absl::string_view token =
      bearer ? absl::StripLeadingAsciiWhitespace(header.substr(kBearer.size())) : absl::string_view();
  if (auto delegate = FromDelegateToken(token, policy)) return *std::move(delegate);
  if (insecure()) return PrincipalRef(policy, &policy->principals.front());

  if (!header.empty()) {
    // RFC 7235: the scheme is case-insensitive, then one or more spaces.
    if (!bearer) return Unauthenticated("the authorization metadata must be \"Bearer TOKEN\"");
    Sha256 digest = ComputeSha256(token);
    // Every digest is compared, without stopping at a match, so the time
    // taken says nothing about which or how many tokens exist.
    const Principal* found = nullptr;
    for (const Principal& p : policy->principals) {
      for (const Sha256& d : p.token_sha256) {
        bool equal = CRYPTO_memcmp(d.data(), digest.data(), d.size()) == 0;
        if (equal) found = &p;
      }
    }
    if (found == nullptr) {
      return Unauthenticated(absl::StrCat("unknown bearer token (not in the tokens file ", path_, ")"));
    }
    return PrincipalRef(policy, found);
  }

  if (!credentials.client_cert_cn.empty()) {
    for (const Principal& p : policy->principals) {
      if (!p.client_cert_cn.empty() && p.client_cert_cn == credentials.client_cert_cn) {
        return PrincipalRef(policy, &p);
      }
    }
    return Unauthenticated(absl::StrCat("client certificate CN \"", credentials.client_cert_cn,
                                        "\" is not mapped to a principal in the tokens file"));
  }
  return Unauthenticated(
      "no credentials: send the metadata \"authorization: Bearer TOKEN\" (or a client certificate)");
}

absl::Status Authenticator::Reload() {
  if (insecure()) return absl::OkStatus();
  absl::MutexLock lock(&reload_mu_);
  return ReloadLocked(/*force=*/true);
}

void Authenticator::MaybeReload() {
  absl::Time now = options_.now ? options_.now() : absl::Now();
  {
    absl::MutexLock lock(&mu_);
    if (now < next_check_) return;
    next_check_ = now + options_.check_interval;
  }
  // Another thread already looking at the file is as good as this one.
  if (!reload_mu_.TryLock()) return;
  (void)ReloadLocked(/*force=*/false);
  reload_mu_.Unlock();
}

absl::Status Authenticator::ReloadLocked(bool force) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    int err = errno;
    absl::Status status = absl::ErrnoToStatus(err, absl::StrCat("cannot stat tokens file ", path_));
    // The tokens in force stay: a file that vanishes for a moment (a
    // Secret volume swapping its symlinks) must not lock everyone out.
    // At start the caller gets the error; later only the log tells.
    bool report = Current() != nullptr && (force || !(stamp_ == FileStamp{} && stamp_failed_));
    stamp_ = FileStamp{};
    stamp_failed_ = true;
    if (report) {
      log::Error("tokens file unreadable; keeping the tokens in force", {{"file", path_}, {"error", status}});
    }
    return status;
  }
  FileStamp stamp{
      .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
      .size = static_cast<int64_t>(st.st_size),
      .inode = static_cast<uint64_t>(st.st_ino),
      .device = static_cast<uint64_t>(st.st_dev),
  };
  if (!force && stamp == stamp_) return absl::OkStatus();

  absl::StatusOr<Policy> policy = LoadPolicyFile(path_);
  if (!policy.ok()) {
    bool report = Current() != nullptr && (force || !(stamp == stamp_ && stamp_failed_));
    stamp_ = stamp;
    stamp_failed_ = true;
    if (report) {
      log::Error("tokens file rejected; keeping the tokens in force",
                 {{"file", path_}, {"error", policy.status()}});
    }
    return policy.status();
  }
  bool first = Current() == nullptr;
  size_t principals = policy->principals.size();
  {
    absl::MutexLock lock(&mu_);
    policy_ = std::make_shared<const Policy>(*std::move(policy));
  }
  stamp_ = stamp;
  stamp_failed_ = false;
  log::Info(first ? "tokens file loaded" : "tokens file reloaded",
            {{"file", path_}, {"principals", principals}});
  return absl::OkStatus();
}

}  // namespace herd::auth
