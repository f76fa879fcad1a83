#include "server/auth/authenticator.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "openssl/crypto.h"

namespace herd::auth {
namespace {

constexpr absl::string_view kBearer = "bearer";

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(why);
}

}  // namespace

Authenticator::Authenticator(std::string path, AuthenticatorOptions options)
    : path_(std::move(path)), options_(std::move(options)) {}

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

absl::StatusOr<PrincipalRef> Authenticator::Authenticate(const Credentials& credentials) {
  if (insecure()) {
    std::shared_ptr<const Policy> policy = Current();
    return PrincipalRef(policy, &policy->principals.front());
  }
  MaybeReload();
  std::shared_ptr<const Policy> policy = Current();

  absl::string_view header = absl::StripAsciiWhitespace(credentials.authorization);
  if (!header.empty()) {
    // RFC 7235: the scheme is case-insensitive, then one or more spaces.
    if (header.size() <= kBearer.size() || !absl::StartsWithIgnoreCase(header, kBearer) ||
        (header[kBearer.size()] != ' ' && header[kBearer.size()] != '\t')) {
      return Unauthenticated("the authorization metadata must be \"Bearer TOKEN\"");
    }
    absl::string_view token = absl::StripLeadingAsciiWhitespace(header.substr(kBearer.size()));
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
