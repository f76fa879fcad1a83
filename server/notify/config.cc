#include "server/notify/config.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files/files.h"
#include "server/auth/policy.h"
#include "yaml-cpp/yaml.h"

namespace herd::notify {
namespace {

const std::set<std::string>& Kinds() {
  static const auto* k = new std::set<std::string>{"rollout", "undo", "scale", "purge", "kill", "cronjob"};
  return *k;
}
const std::set<std::string>& Outcomes() {
  static const auto* o = new std::set<std::string>{"started", "succeeded", "failed", "cancelled", "rolled_back",
                                                      "pending_approval"};
  return *o;
}

class Parser {
 public:
  Parser(absl::string_view source, std::string dir) : source_(source), dir_(std::move(dir)) {}

  absl::StatusOr<Config> Parse(absl::string_view text) {
    try {
      YAML::Node root = YAML::Load(std::string(text));
      Config config;
      if (absl::Status st = ParseRoot(root, config); !st.ok()) return st;
      return config;
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(Where(e.mark), "malformed YAML: ", e.msg));
    }
  }

 private:
  std::string Where(const YAML::Mark& m) const {
    if (m.line < 0) return absl::StrCat(source_, ": ");
    return absl::StrCat(source_, ":", m.line + 1, ":", m.column + 1, ": ");
  }
  absl::Status Error(const YAML::Node& n, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(Where(n.Mark()), what));
  }
  absl::Status CheckKeys(const YAML::Node& n, absl::string_view what, std::initializer_list<const char*> known) const {
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      bool ok = false;
      for (const char* k : known) ok = ok || key == k;
      if (!ok) {
        return Error(kv.first, absl::StrCat("unknown key \"", key, "\" in ", what, " (known: ", absl::StrJoin(known, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> String(const YAML::Node& n, absl::string_view what) const {
    if (!n.IsScalar() || n.Scalar().empty()) return Error(n, absl::StrCat(what, " must be a non-empty string"));
    return n.Scalar();
  }
  absl::StatusOr<std::vector<std::string>> List(const YAML::Node& n, absl::string_view what,
                                                const std::set<std::string>* allowed) const {
    std::vector<std::string> out;
    if (!n.IsSequence()) return Error(n, absl::StrCat(what, " must be a list"));
    for (const auto& item : n) {
      auto s = String(item, absl::StrCat("each entry of ", what));
      if (!s.ok()) return s.status();
      if (allowed != nullptr && !allowed->count(*s)) {
        return Error(item, absl::StrCat("unknown ", what, " \"", *s, "\" (known: ", absl::StrJoin(*allowed, ", "), ")"));
      }
      out.push_back(*s);
    }
    return out;
  }
  // A value given inline (`key`) or in a file (`key` + "File").
  absl::StatusOr<std::string> ValueOrFile(const YAML::Node& n, const std::string& key) const {
    const std::string file_key = key + "File";
    if (n[key] && n[file_key]) return Error(n, absl::StrCat("give ", key, " or ", file_key, ", not both"));
    if (n[key]) return String(n[key], key);
    if (!n[file_key]) return std::string();
    auto path = String(n[file_key], file_key);
    if (!path.ok()) return path.status();
    absl::StatusOr<std::string> text = files::ReadFile(files::ResolvePath(dir_, *path), file_key);
    if (!text.ok()) return Error(n[file_key], text.status().message());
    std::string value(absl::StripAsciiWhitespace(*text));
    if (value.empty()) return Error(n[file_key], absl::StrCat(file_key, " ", *path, " is empty"));
    return value;
  }

  absl::Status ParseRoot(const YAML::Node& root, Config& config) {
    if (root.IsNull()) return absl::OkStatus();
    if (!root.IsMap()) return Error(root, "a notifications file is a map with a \"sinks\" list");
    if (absl::Status st = CheckKeys(root, "the notifications file", {"sinks"}); !st.ok()) return st;
    YAML::Node sinks = root["sinks"];
    if (!sinks || sinks.IsNull()) return absl::OkStatus();
    if (!sinks.IsSequence()) return Error(sinks, "\"sinks\" must be a list");
    std::set<std::string> names;
    for (const auto& n : sinks) {
      if (!n.IsMap()) return Error(n, "each sink is a map");
      if (absl::Status st = CheckKeys(n, "a sink",
                                      {"name", "slackWebhook", "slackWebhookFile", "cloudEvents", "cloudEventsFile",
                                       "secret", "secretFile", "match"});
          !st.ok()) {
        return st;
      }
      Sink sink;
      if (!n["name"]) return Error(n, "a sink needs a \"name\"");
      auto name = String(n["name"], "name");
      if (!name.ok()) return name.status();
      sink.name = *name;
      if (!names.insert(sink.name).second) return Error(n["name"], absl::StrCat("sink \"", sink.name, "\" is defined twice"));
      auto slack = ValueOrFile(n, "slackWebhook");
      if (!slack.ok()) return slack.status();
      auto events = ValueOrFile(n, "cloudEvents");
      if (!events.ok()) return events.status();
      if (slack->empty() == events->empty()) {
        return Error(n, absl::StrCat("sink \"", sink.name, "\" needs one of slackWebhook or cloudEvents"));
      }
      sink.type = slack->empty() ? Sink::Type::kCloudEvents : Sink::Type::kSlack;
      sink.url = slack->empty() ? *events : *slack;
      if (!absl::StartsWith(sink.url, "https://") && !absl::StartsWith(sink.url, "http://")) {
        return Error(n, absl::StrCat("sink \"", sink.name, "\": the URL must start with https:// or http://"));
      }
      auto secret = ValueOrFile(n, "secret");
      if (!secret.ok()) return secret.status();
      sink.secret = *secret;
      sink.namespaces = {"*"};
      if (YAML::Node m = n["match"]) {
        if (!m.IsMap()) return Error(m, "\"match\" is a map of namespaces, kinds and outcomes");
        if (absl::Status st = CheckKeys(m, "match", {"namespaces", "kinds", "outcomes"}); !st.ok()) return st;
        if (m["namespaces"]) {
          auto l = List(m["namespaces"], "namespaces", nullptr);
          if (!l.ok()) return l.status();
          sink.namespaces = *l;
        }
        if (m["kinds"]) {
          auto l = List(m["kinds"], "kind", &Kinds());
          if (!l.ok()) return l.status();
          sink.kinds = *l;
        }
        if (m["outcomes"]) {
          auto l = List(m["outcomes"], "outcome", &Outcomes());
          if (!l.ok()) return l.status();
          sink.outcomes = *l;
        }
      }
      config.sinks.push_back(std::move(sink));
    }
    return absl::OkStatus();
  }

  std::string source_;
  std::string dir_;
};

bool Listed(const std::vector<std::string>& list, absl::string_view value) {
  for (const std::string& v : list) {
    if (v == value) return true;
  }
  return false;
}

}  // namespace

bool Sink::Matches(absl::string_view ns, absl::string_view kind, absl::string_view outcome) const {
  bool ns_ok = false;
  for (const std::string& glob : namespaces) ns_ok = ns_ok || auth::GlobMatch(glob, ns);
  if (!ns_ok) return false;
  if (!kinds.empty() && !Listed(kinds, kind)) return false;
  if (outcomes.empty()) return outcome != "started";
  return Listed(outcomes, outcome);
}

absl::StatusOr<Config> ParseConfig(absl::string_view yaml, absl::string_view source, const std::string& dir) {
  return Parser(source, dir).Parse(yaml);
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text = files::ReadFile(path, "notifications file");
  if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
  return ParseConfig(*text, path, files::DirName(path));
}

}  // namespace herd::notify
