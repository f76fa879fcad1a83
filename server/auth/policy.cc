#include "server/auth/policy.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "yaml-cpp/yaml.h"

namespace herd::auth {
namespace {

constexpr Verb kAllVerbs[] = {Verb::kRollout, Verb::kUndo, Verb::kScale,  Verb::kPurge,  Verb::kKill,
                              Verb::kCronJob, Verb::kRead, Verb::kCancel, Verb::kApprove};
// The verbs an approval rule may hold: those that start an operation.
constexpr Verb kHeldVerbs[] = {Verb::kRollout, Verb::kUndo, Verb::kScale, Verb::kPurge, Verb::kKill, Verb::kCronJob};
// The longest an approval may wait (operation records are kept 7 days).
constexpr absl::Duration kMaxApprovalTimeout = absl::Hours(24 * 7);

uint32_t Bit(Verb v) { return 1u << static_cast<unsigned>(v); }

uint32_t AllVerbBits() {
  uint32_t bits = 0;
  for (Verb v : kAllVerbs) bits |= Bit(v);
  return bits;
}

std::string KnownVerbs() {
  std::string out;
  for (Verb v : kAllVerbs) absl::StrAppend(&out, VerbName(v), ", ");
  absl::StrAppend(&out, "get, list, watch (= read) or \"*\"");
  return out;
}

std::optional<Sha256> ParseHexSha256(absl::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Sha256 out{};
  for (size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (size_t k = 0; k < 2; ++k) {
      char c = absl::ascii_tolower(hex[2 * i + k]);
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        return std::nullopt;
      }
      v = v * 16 + d;
    }
    out[i] = static_cast<uint8_t>(v);
  }
  return out;
}

// Walks the YAML tree. yaml-cpp reports problems by exception; they are
// caught here, and every error carries the position of the node at fault.
class Parser {
 public:
  explicit Parser(absl::string_view source) : source_(source) {}

  absl::StatusOr<Policy> Parse(absl::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(e.mark), "malformed YAML: ", e.msg));
    }
    try {
      Policy policy;
      absl::Status st = ParseRoot(root, policy);
      if (!st.ok()) return st;
      return policy;
    } catch (const YAML::Exception& e) {
      // Conversions are checked before they are made; this is the safety net.
      return absl::InvalidArgumentError(absl::StrCat(Where(e.mark), e.msg));
    }
  }

 private:
  std::string Where(const YAML::Mark& mark) const {
    if (mark.is_null() || mark.line < 0) return absl::StrCat(source_, ": ");
    return absl::StrCat(source_, ":", mark.line + 1, ":", mark.column + 1, ": ");
  }
  absl::Status Error(const YAML::Node& at, absl::string_view msg) const {
    return absl::InvalidArgumentError(absl::StrCat(Where(at.Mark()), msg));
  }

  absl::Status CheckKeys(const YAML::Node& map, absl::string_view what,
                         std::initializer_list<absl::string_view> known) const {
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) return Error(kv.first, absl::StrCat(what, " keys must be strings"));
      std::string key = kv.first.Scalar();
      bool ok = false;
      for (absl::string_view k : known) ok = ok || k == key;
      if (!ok) {
        return Error(kv.first, absl::StrCat("unknown key \"", key, "\" in ", what, " (known: ",
                                            absl::StrJoin(known, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> String(const YAML::Node& node, absl::string_view what) const {
    if (!node.IsScalar() || node.Scalar().empty()) {
      return Error(node, absl::StrCat(what, " must be a non-empty string"));
    }
    return node.Scalar();
  }

  // A list of strings, or one string standing for a list of one.
  absl::StatusOr<std::vector<std::pair<std::string, YAML::Node>>> StringList(
      const YAML::Node& node, absl::string_view what) const {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (node.IsScalar()) {
      auto s = String(node, what);
      if (!s.ok()) return s.status();
      out.emplace_back(*s, node);
      return out;
    }
    if (!node.IsSequence() || node.size() == 0) {
      return Error(node, absl::StrCat(what, " must be a non-empty list of strings"));
    }
    for (const auto& item : node) {
      auto s = String(item, absl::StrCat("each entry of ", what));
      if (!s.ok()) return s.status();
      out.emplace_back(*s, item);
    }
    return out;
  }

  absl::Status ParseRoot(const YAML::Node& root, Policy& policy) {
    if (!root.IsMap()) return Error(root, "a tokens file is a map with a \"principals\" list");
    if (absl::Status st = CheckKeys(root, "the tokens file", {"principals", "approvals"}); !st.ok()) return st;
    if (YAML::Node approvals = root["approvals"]; approvals && !approvals.IsNull()) {
      if (!approvals.IsSequence()) return Error(approvals, "\"approvals\" must be a list");
      std::set<std::string> names;
      for (const auto& a : approvals) {
        ApprovalRule rule;
        rule.name = absl::StrCat("approvals[", policy.approvals.size(), "]");
        if (absl::Status st = ParseApproval(a, rule); !st.ok()) return st;
        if (!names.insert(rule.name).second) {
          return Error(a, absl::StrCat("approval rule \"", rule.name, "\" is defined twice"));
        }
        policy.approvals.push_back(std::move(rule));
      }
    }
    YAML::Node principals = root["principals"];
    if (!principals) return Error(root, "missing \"principals\"");
    if (principals.IsNull()) return absl::OkStatus();  // `principals:` with nothing: nobody
    if (!principals.IsSequence()) return Error(principals, "\"principals\" must be a list");
    for (const auto& p : principals) {
      Principal principal;
      if (absl::Status st = ParsePrincipal(p, principal); !st.ok()) return st;
      policy.principals.push_back(std::move(principal));
    }
    return absl::OkStatus();
  }

  // The `namespaces` (required) and `workloads` (default "*") globs of a
  // rule or an approval rule (`what`).
  absl::Status ParseScope(const YAML::Node& node, absl::string_view what, std::vector<std::string>& namespaces,
                          std::vector<std::string>& workloads) {
    if (!node["namespaces"]) {
      return Error(node, absl::StrCat(what, " needs \"namespaces\" (use [\"*\"] for every namespace)"));
    }
    auto ns_list = StringList(node["namespaces"], "namespaces");
    if (!ns_list.ok()) return ns_list.status();
    for (auto& [ns, at] : *ns_list) namespaces.push_back(std::move(ns));
    if (YAML::Node w = node["workloads"]) {
      auto list = StringList(w, "workloads");
      if (!list.ok()) return list.status();
      for (auto& [name, at] : *list) workloads.push_back(std::move(name));
    } else {
      workloads.push_back("*");
    }
    return absl::OkStatus();
  }

  absl::Status ParseApproval(const YAML::Node& node, ApprovalRule& rule) {
    if (!node.IsMap()) return Error(node, "each approval rule must be a map with namespaces (and verbs, timeout)");
    if (absl::Status st = CheckKeys(node, "an approval rule", {"name", "verbs", "namespaces", "workloads", "timeout"});
        !st.ok()) {
      return st;
    }
    if (YAML::Node name = node["name"]) {
      auto text = String(name, "name");
      if (!text.ok()) return text.status();
      rule.name = *text;
    }
    if (YAML::Node verbs = node["verbs"]) {
      auto list = StringList(verbs, "verbs");
      if (!list.ok()) return list.status();
      for (const auto& [name, at] : *list) {
        uint32_t bits = 0;
        for (Verb h : kHeldVerbs) {
          if (name == "*" || name == VerbName(h)) bits |= Bit(h);
        }
        if (bits == 0) {
          return Error(at, absl::StrCat("an approval rule holds only verbs that start an operation (rollout, undo, "
                                        "scale, purge, kill, cronjob or \"*\"), not \"", name, "\""));
        }
        rule.verbs |= bits;
      }
    } else {
      for (Verb h : kHeldVerbs) rule.verbs |= Bit(h);
    }
    if (absl::Status st = ParseScope(node, "an approval rule", rule.namespaces, rule.workloads); !st.ok()) return st;
    if (YAML::Node timeout = node["timeout"]) {
      auto text = String(timeout, "timeout");
      if (!text.ok()) return text.status();
      absl::Duration d;
      if (!absl::ParseDuration(*text, &d) || d <= absl::ZeroDuration() || d > kMaxApprovalTimeout) {
        return Error(timeout, absl::StrCat("timeout must be a positive duration of at most 168h, like \"30m\" or "
                                           "\"2h\" (not \"", *text, "\")"));
      }
      rule.timeout = d;
    }
    return absl::OkStatus();
  }

  absl::Status AddToken(const YAML::Node& node, bool hashed, Principal& principal) {
    auto text = String(node, hashed ? "tokenSha256" : "token");
    if (!text.ok()) return text.status();
    Sha256 digest;
    if (hashed) {
      auto parsed = ParseHexSha256(*text);
      if (!parsed) return Error(node, "tokenSha256 must be 64 hex digits (sha256sum of the token)");
      digest = *parsed;
    } else {
      digest = ComputeSha256(*text);
    }
    auto [it, inserted] = token_owner_.emplace(
        std::string(reinterpret_cast<const char*>(digest.data()), digest.size()), principal.name);
    if (!inserted) {
      return Error(node, absl::StrCat("this token is already given to principal \"", it->second, "\""));
    }
    principal.token_sha256.push_back(digest);
    return absl::OkStatus();
  }

  absl::Status ParsePrincipal(const YAML::Node& node, Principal& principal) {
    if (!node.IsMap()) return Error(node, "each principal must be a map with name, tokens and rules");
    if (absl::Status st = CheckKeys(node, "a principal",
                                    {"name", "token", "tokenSha256", "tokens", "clientCertCN", "slackUsers",
                                     "slackChannels", "groups", "rules"});
        !st.ok()) {
      return st;
    }
    if (!node["name"]) return Error(node, "a principal needs a \"name\"");
    auto name = String(node["name"], "name");
    if (!name.ok()) return name.status();
    principal.name = *name;
    // Names herd gives its own delegates; a principal of the file named so
    // would share their request ids and groups.
    for (absl::string_view reserved : {"policy:", "system:", "slack:"}) {
      if (absl::StartsWith(principal.name, reserved)) {
        return Error(node["name"], absl::StrCat("principal names starting with \"", reserved,
                                                "\" are herd's own (\"", principal.name, "\")"));
      }
    }
    if (std::any_of(principal.name.begin(), principal.name.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return Error(node["name"], "a principal's name has no control characters");
    }
    if (!names_.insert(principal.name).second) {
      return Error(node["name"], absl::StrCat("principal \"", principal.name, "\" is defined twice"));
    }

    if (node["token"]) {
      if (absl::Status st = AddToken(node["token"], false, principal); !st.ok()) return st;
    }
    if (node["tokenSha256"]) {
      if (absl::Status st = AddToken(node["tokenSha256"], true, principal); !st.ok()) return st;
    }
    if (YAML::Node tokens = node["tokens"]) {
      if (!tokens.IsSequence() || tokens.size() == 0) {
        return Error(tokens, "\"tokens\" must be a non-empty list of {token: …} or {tokenSha256: …}");
      }
      for (const auto& t : tokens) {
        if (!t.IsMap() || t.size() != 1) {
          return Error(t, "each entry of \"tokens\" is {token: …} or {tokenSha256: …}");
        }
        if (absl::Status st = CheckKeys(t, "a token entry", {"token", "tokenSha256"}); !st.ok()) return st;
        bool hashed = static_cast<bool>(t["tokenSha256"]);
        if (absl::Status st = AddToken(hashed ? t["tokenSha256"] : t["token"], hashed, principal); !st.ok()) {
          return st;
        }
      }
    }
    if (YAML::Node cn = node["clientCertCN"]) {
      auto text = String(cn, "clientCertCN");
      if (!text.ok()) return text.status();
      auto [it, inserted] = cn_owner_.emplace(*text, principal.name);
      if (!inserted) {
        return Error(cn, absl::StrCat("clientCertCN \"", *text, "\" is already given to principal \"",
                                      it->second, "\""));
      }
      principal.client_cert_cn = *text;
    }
    for (auto [key, owner, out] : {std::tuple{"slackUsers", &slack_user_owner_, &principal.slack_users},
                                   std::tuple{"slackChannels", &slack_channel_owner_, &principal.slack_channels}}) {
      YAML::Node ids = node[key];
      if (!ids) continue;
      auto list = StringList(ids, key);
      if (!list.ok()) return list.status();
      for (auto& [id, at] : *list) {
        auto [it, inserted] = owner->emplace(id, principal.name);
        if (!inserted) {
          return Error(at, absl::StrCat(key, " entry \"", id, "\" is already given to principal \"", it->second, "\""));
        }
        out->push_back(std::move(id));
      }
    }
    if (YAML::Node groups = node["groups"]) {
      auto list = StringList(groups, "groups");
      if (!list.ok()) return list.status();
      for (auto& [group, at] : *list) principal.groups.push_back(std::move(group));
    }
    if (principal.token_sha256.empty() && principal.client_cert_cn.empty() && principal.slack_users.empty() &&
        principal.slack_channels.empty()) {
      return Error(node, absl::StrCat("principal \"", principal.name,
                                      "\" has no token, tokenSha256, tokens, clientCertCN, slackUsers or slackChannels"));
    }

    YAML::Node rules = node["rules"];
    if (!rules) return Error(node, absl::StrCat("principal \"", principal.name, "\" has no \"rules\""));
    if (!rules.IsSequence() || rules.size() == 0) return Error(rules, "\"rules\" must be a non-empty list");
    for (const auto& r : rules) {
      Rule rule;
      if (absl::Status st = ParseRule(r, rule); !st.ok()) return st;
      principal.rules.push_back(std::move(rule));
    }
    return absl::OkStatus();
  }

  absl::Status ParseRule(const YAML::Node& node, Rule& rule) {
    if (!node.IsMap()) return Error(node, "each rule must be a map with verbs and namespaces");
    if (absl::Status st = CheckKeys(node, "a rule", {"verbs", "namespaces", "workloads", "allowProtected"});
        !st.ok()) {
      return st;
    }
    if (!node["verbs"]) return Error(node, "a rule needs \"verbs\"");
    auto verbs = StringList(node["verbs"], "verbs");
    if (!verbs.ok()) return verbs.status();
    for (const auto& [name, at] : *verbs) {
      if (name == "*") {
        rule.verbs |= AllVerbBits();
        continue;
      }
      std::optional<Verb> v = ParseVerb(name);
      if (!v) return Error(at, absl::StrCat("unknown verb \"", name, "\" (known: ", KnownVerbs(), ")"));
      rule.verbs |= Bit(*v);
    }

    if (absl::Status st = ParseScope(node, "a rule", rule.namespaces, rule.workloads); !st.ok()) return st;

    if (YAML::Node ap = node["allowProtected"]) {
      bool value = false;
      if (!ap.IsScalar() || !YAML::convert<bool>::decode(ap, value)) {
        return Error(ap, "allowProtected must be true or false");
      }
      rule.allow_protected = value;
    }
    return absl::OkStatus();
  }

  std::string source_;
  std::set<std::string> names_;
  absl::flat_hash_map<std::string, std::string> token_owner_;  // digest bytes → principal
  absl::flat_hash_map<std::string, std::string> cn_owner_;
  absl::flat_hash_map<std::string, std::string> slack_user_owner_;
  absl::flat_hash_map<std::string, std::string> slack_channel_owner_;
};

}  // namespace

absl::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kRollout: return "rollout";
    case Verb::kUndo: return "undo";
    case Verb::kScale: return "scale";
    case Verb::kPurge: return "purge";
    case Verb::kKill: return "kill";
    case Verb::kCronJob: return "cronjob";
    case Verb::kRead: return "read";
    case Verb::kCancel: return "cancel";
    case Verb::kApprove: return "approve";
  }
  return "unknown";
}

std::optional<Verb> ParseVerb(absl::string_view name) {
  for (Verb v : kAllVerbs) {
    if (VerbName(v) == name) return v;
  }
  if (name == "get" || name == "list" || name == "watch") return Verb::kRead;
  return std::nullopt;
}

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Greedy matching with one backtrack point (the last `*`): linear enough
  // for names, and no recursion for hostile patterns.
  size_t p = 0, t = 0;
  size_t star = absl::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Sha256 ComputeSha256(absl::string_view data) {
  Sha256 out{};
  unsigned int len = 0;
  // EVP_Digest cannot fail for SHA-256 on memory input short of allocation
  // failure, where OpenSSL aborts anyway.
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

Sha256 HmacSha256(absl::string_view key, absl::string_view data) {
  Sha256 out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  return out;
}

std::string HexOf(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

bool Rule::MatchesNamespace(absl::string_view ns) const {
  for (const auto& p : namespaces) {
    if (GlobMatch(p, ns)) return true;
  }
  return false;
}

bool Rule::MatchesWorkload(absl::string_view name) const {
  for (const auto& p : workloads) {
    if (GlobMatch(p, name)) return true;
  }
  return false;
}

const ApprovalRule* ApprovalRuleFor(const Policy& policy, Verb verb, absl::string_view ns,
                                    absl::string_view workload) {
  for (const ApprovalRule& rule : policy.approvals) {
    if (!rule.AppliesTo(verb)) continue;
    bool ns_match = false, workload_match = workload.empty();
    for (const auto& p : rule.namespaces) ns_match = ns_match || GlobMatch(p, ns);
    for (const auto& p : rule.workloads) workload_match = workload_match || GlobMatch(p, workload);
    if (ns_match && workload_match) return &rule;
  }
  return nullptr;
}

Rule AllowEverythingRule() {
  Rule r;
  r.verbs = AllVerbBits();
  r.namespaces = {"*"};
  r.workloads = {"*"};
  return r;
}

absl::StatusOr<Policy> ParsePolicy(absl::string_view yaml, absl::string_view source) {
  return Parser(source).Parse(yaml);
}

absl::StatusOr<Policy> LoadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    return absl::ErrnoToStatus(err, absl::StrCat("cannot read tokens file ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading tokens file ", path));
  return ParsePolicy(text.str(), path);
}

}  // namespace herd::auth
