#include "sim/auth/auth.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

std::string B64Url(absl::string_view data) {
  std::string out;
  absl::WebSafeBase64Escape(data, &out);
  return out;
}

// One CSV record: fields split on commas outside double quotes.
std::vector<std::string> CsvFields(absl::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

void AddGroup(UserInfo& u, const std::string& g) {
  if (!u.InGroup(g)) u.groups.push_back(g);
}

}  // namespace

bool UserInfo::InGroup(absl::string_view group) const {
  return std::find(groups.begin(), groups.end(), group) != groups.end();
}

UserInfo Anonymous() { return {kAnonymousUser, "", {"system:unauthenticated"}}; }

UserInfo ServiceAccountUser(const std::string& ns, const std::string& name, const std::string& uid) {
  return {absl::StrCat(kServiceAccountPrefix, ns, ":", name), uid,
          {"system:serviceaccounts", absl::StrCat("system:serviceaccounts:", ns), "system:authenticated"}};
}

std::optional<std::pair<std::string, std::string>> SplitServiceAccountUser(absl::string_view user) {
  if (!absl::ConsumePrefix(&user, kServiceAccountPrefix)) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(user, ':');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return std::nullopt;
  return std::make_pair(parts[0], parts[1]);
}

absl::StatusOr<std::vector<StaticToken>> ParseTokenFile(absl::string_view text) {
  std::vector<StaticToken> out;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++n;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    std::vector<std::string> f = CsvFields(line);
    if (f.size() < 3 || f[0].empty() || f[1].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token file line ", n, ": want token,user,uid[,\"group1,group2\"]"));
    }
    StaticToken t{f[0], {f[1], f[2], {}}};
    if (f.size() > 3) {
      for (absl::string_view g : absl::StrSplit(f[3], ',', absl::SkipWhitespace())) {
        t.user.groups.emplace_back(absl::StripAsciiWhitespace(g));
      }
    }
    AddGroup(t.user, "system:authenticated");
    out.push_back(std::move(t));
  }
  return out;
}

// ---- TokenSigner ----

struct TokenSigner::Key {
  EVP_PKEY* pkey = nullptr;
  std::string kid;
  ~Key() { EVP_PKEY_free(pkey); }
};

TokenSigner::TokenSigner() = default;
TokenSigner::~TokenSigner() = default;

absl::Status TokenSigner::EnsureKey() {
  if (key_) return absl::OkStatus();
  auto key = std::make_unique<Key>();
  key->pkey = EVP_RSA_gen(2048);
  if (key->pkey == nullptr) return absl::InternalError("cannot make an RSA key for ServiceAccount tokens");
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key->pkey, &der);
  if (len > 0) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_Digest(der, static_cast<size_t>(len), digest, &dlen, EVP_sha256(), nullptr);
    key->kid = B64Url(absl::string_view(reinterpret_cast<const char*>(digest), dlen));
  }
  OPENSSL_free(der);
  key_ = std::move(key);
  return absl::OkStatus();
}

absl::StatusOr<std::string> TokenSigner::Issue(const std::string& ns, const std::string& name, const std::string& uid,
                                               const std::vector<std::string>& audiences, absl::Time now,
                                               absl::Duration ttl) {
  if (auto st = EnsureKey(); !st.ok()) return st;
  int64_t iat = absl::ToUnixSeconds(now);
  Json claims = {{"aud", audiences},
                 {"exp", iat + absl::ToInt64Seconds(ttl)},
                 {"iat", iat},
                 {"iss", kTokenAudience},
                 {"kubernetes.io", {{"namespace", ns}, {"serviceaccount", {{"name", name}, {"uid", uid}}}}},
                 {"nbf", iat},
                 {"sub", absl::StrCat(kServiceAccountPrefix, ns, ":", name)}};
  Json header = {{"alg", "RS256"}, {"kid", key_->kid}};
  std::string signing_input = absl::StrCat(B64Url(header.dump()), ".", B64Url(claims.dump()));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t siglen = 0;
  std::string sig;
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_->pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &siglen, reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()) == 1;
  if (ok) {
    sig.resize(siglen);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &siglen,
                        reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
    sig.resize(siglen);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return absl::InternalError("cannot sign a ServiceAccount token");
  return absl::StrCat(signing_input, ".", B64Url(sig));
}

absl::StatusOr<Json> TokenSigner::Verify(absl::string_view token, absl::Time now) {
  auto invalid = absl::UnauthenticatedError("invalid bearer token");
  if (!key_) return invalid;  // no token was ever issued
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return invalid;
  std::string header, payload, sig;
  if (!absl::WebSafeBase64Unescape(parts[0], &header) || !absl::WebSafeBase64Unescape(parts[1], &payload) ||
      !absl::WebSafeBase64Unescape(parts[2], &sig)) {
    return invalid;
  }
  Json h = Json::parse(header, nullptr, false);
  if (!h.is_object() || h.value("alg", "") != "RS256") return invalid;
  std::string signing_input = absl::StrCat(parts[0], ".", parts[1]);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_->pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return invalid;
  Json claims = Json::parse(payload, nullptr, false);
  if (!claims.is_object()) return invalid;
  int64_t t = absl::ToUnixSeconds(now);
  if (claims.value("exp", int64_t{0}) <= t || claims.value("nbf", int64_t{0}) > t) return invalid;
  bool audience = false;
  for (const auto& a : claims.value("aud", Json::array())) audience |= a == kTokenAudience;
  if (!audience) return invalid;
  return claims;
}

// ---- Authenticator ----

Authenticator::Authenticator(AuthenticatorOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::optional<UserInfo>> Authenticator::Authenticate(absl::string_view authorization,
                                                                    const std::string& client_cn,
                                                                    const ServiceAccountLookup& lookup,
                                                                    absl::Time now) {
  if (authorization.empty()) {
    if (!client_cn.empty()) return std::optional<UserInfo>(UserInfo{client_cn, "", {"system:authenticated"}});
    return std::optional<UserInfo>();
  }
  absl::string_view token = authorization;
  if (!absl::ConsumePrefix(&token, "Bearer ") || token.empty()) return absl::UnauthenticatedError("Unauthorized");
  if (!options_.admin_token.empty() && token == options_.admin_token) {
    return std::optional<UserInfo>(UserInfo{kAdminUser, "", {"system:masters", "system:authenticated"}});
  }
  for (const auto& t : options_.static_tokens) {
    if (t.token == token) return std::optional<UserInfo>(t.user);
  }
  auto claims = signer_.Verify(token, now);
  if (!claims.ok()) return absl::UnauthenticatedError("Unauthorized");
  const Json& k = (*claims)["kubernetes.io"];
  std::string ns = k.value("namespace", "");
  std::string name = k.value("serviceaccount", Json::object()).value("name", "");
  std::string uid = k.value("serviceaccount", Json::object()).value("uid", "");
  // A token outlives nothing: its ServiceAccount must still be there, the same one.
  std::optional<std::string> live = lookup ? lookup(ns, name) : std::nullopt;
  if (!live || *live != uid) return absl::UnauthenticatedError("Unauthorized");
  return std::optional<UserInfo>(ServiceAccountUser(ns, name, uid));
}

}  // namespace herd::sim
