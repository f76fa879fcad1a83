#include "server/slack/command.h"

#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace herd::slack {
namespace {

struct VerbUsage {
  const char* verb;
  const char* usage;
  const char* what;
};

constexpr VerbUsage kVerbs[] = {
    {"rollout", "/herd rollout NAMESPACE/WORKLOAD CONTAINER=IMAGE… [--restart] [--strategy=fast|rolling] [--dry-run] [reason: …]",
     "set images (or --restart), wait for the new pods, roll back on a crash loop"},
    {"undo", "/herd undo NAMESPACE/WORKLOAD [--to-revision=N] [--dry-run] [reason: …]",
     "go back to the previous revision (or revision N)"},
    {"scale", "/herd scale NAMESPACE/WORKLOAD (N | +N | -N) [--hpa-hold=DURATION] [--dry-run] [reason: …]",
     "set the replica count, or change it by N"},
    {"purge", "/herd purge NAMESPACE/WORKLOAD [burn] [--older-than=DURATION] [--dry-run] [reason: …]",
     "replace every pod, a few at a time (burn: all at once)"},
    {"kill", "/herd kill NAMESPACE/POD… [--force] [--dry-run] [reason: …]",
     "evict pods (PodDisruptionBudgets decide; --force deletes)"},
    {"cronjob", "/herd cronjob (run | suspend | resume | kill) NAMESPACE/CRONJOB [--dry-run] [reason: …]",
     "run a CronJob now, suspend or resume it, or kill its running Jobs"},
    {"status", "/herd status NAMESPACE/WORKLOAD", "a workload: images, pods, its running operation"},
    {"ops", "/herd ops [NAMESPACE | NAMESPACE/WORKLOAD] [--state=STATE,…] [--limit=N]",
     "recent operations (every namespace when none is named)"},
    {"cancel", "/herd cancel OPERATION", "stop a running operation"},
    {"help", "/herd help [COMMAND]", "this help, or one command's"},
};

const VerbUsage* FindVerb(absl::string_view verb) {
  for (const VerbUsage& v : kVerbs) {
    if (verb == v.verb) return &v;
  }
  return nullptr;
}

absl::Status Usage(absl::string_view verb, absl::string_view what) {
  const VerbUsage* v = FindVerb(verb);
  std::string usage = v != nullptr ? absl::StrCat("Usage: `", v->usage, "`")
                                   : "Commands: rollout, undo, scale, purge, kill, cronjob, status, ops, cancel, help.";
  return absl::InvalidArgumentError(absl::StrCat(what, "\n", usage));
}

// Slack escapes &, < and > in command text, and may wrap links and
// mentions as <target|label> or <target>, also inside a word
// ("web=<http://registry.example/web:42|registry.example/web:42>").
std::string Unescape(absl::string_view word) {
  std::string w;
  while (!word.empty()) {
    size_t open = word.find('<');
    size_t close = open == absl::string_view::npos ? open : word.find('>', open);
    if (close == absl::string_view::npos) {
      absl::StrAppend(&w, word);
      break;
    }
    absl::StrAppend(&w, word.substr(0, open));
    absl::string_view inner = word.substr(open + 1, close - open - 1);
    if (size_t bar = inner.find('|'); bar != absl::string_view::npos) inner = inner.substr(bar + 1);
    absl::StrAppend(&w, inner);
    word.remove_prefix(close + 1);
  }
  return absl::StrReplaceAll(w, {{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}});
}

std::string StripQuotes(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  for (absl::string_view q : {"\"", "'", "\u201c", "\u201d", "\u2018", "\u2019"}) {
    if (absl::ConsumePrefix(&text, q)) break;
  }
  for (absl::string_view q : {"\"", "'", "\u201c", "\u201d", "\u2018", "\u2019"}) {
    if (absl::ConsumeSuffix(&text, q)) break;
  }
  return std::string(absl::StripAsciiWhitespace(text));
}

// Flags that choose a connection, an output or a namespace: Slack decides
// those.
bool IsForeignFlag(absl::string_view name) {
  static const std::set<std::string, std::less<>> kForeign = {
      "server", "token",  "token-file", "tls",     "ca-file", "cert-file",     "key-file",       "tls-server-name",
      "n",      "namespace", "o",       "output",  "timeout", "v",             "verbose",        "A",
      "all-namespaces", "help", "h"};
  return kForeign.count(name) > 0;
}

struct Target {
  std::string ns;
  std::string kind;  // "" when not given
  std::string name;
};

absl::StatusOr<Target> ParseTarget(absl::string_view verb, absl::string_view text, absl::string_view what) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  for (const std::string& p : parts) {
    if (p.empty()) return Usage(verb, absl::StrCat("\"", text, "\" is not ", what));
  }
  if (parts.size() == 2) return Target{parts[0], "", parts[1]};
  if (parts.size() == 3) return Target{parts[0], parts[1], parts[2]};
  return Usage(verb, absl::StrCat("\"", text, "\" is not ", what, " (write NAMESPACE/NAME)"));
}

// NAMESPACE/NAME → "KIND/NAME" as herdctl names it.
absl::StatusOr<std::string> WorkloadArg(const Target& t, const KindResolver& resolve) {
  if (!t.kind.empty()) return absl::StrCat(t.kind, "/", t.name);
  absl::StatusOr<std::string> kind = resolve(t.ns, t.name);
  if (!kind.ok()) return kind.status();
  return absl::StrCat(*kind, "/", t.name);
}

bool IsCount(absl::string_view word) {
  int64_t n = 0;
  return !word.empty() && absl::SimpleAtoi(word, &n);
}

}  // namespace

absl::StatusOr<SlackCommand> ParseSlackCommand(absl::string_view text, const KindResolver& resolve) {
  // `reason:` takes the rest of the line.
  std::string reason;
  bool has_reason = false;
  std::string lowered = absl::AsciiStrToLower(text);
  for (size_t at = lowered.find("reason:"); at != std::string::npos; at = lowered.find("reason:", at + 1)) {
    if (at == 0 || absl::ascii_isspace(static_cast<unsigned char>(lowered[at - 1]))) {
      reason = StripQuotes(Unescape(text.substr(at + 7)));
      has_reason = true;
      text = text.substr(0, at);
      break;
    }
  }
  std::vector<std::string> words;
  for (absl::string_view w : absl::StrSplit(text, absl::ByAnyChar(" \t\n\r"), absl::SkipEmpty())) {
    words.push_back(Unescape(w));
  }
  SlackCommand out;
  if (words.empty()) {
    out.command.action = herdctl::Action::kHelp;
    return out;
  }
  const std::string verb = absl::AsciiStrToLower(words[0]);
  if (FindVerb(verb) == nullptr) return Usage("", absl::StrCat("unknown command \"", words[0], "\""));
  if (verb == "help") {
    if (words.size() > 2) return Usage(verb, "help takes at most one command");
    if (words.size() == 2 && FindVerb(absl::AsciiStrToLower(words[1])) == nullptr) {
      return Usage(verb, absl::StrCat("unknown command \"", words[1], "\""));
    }
    out.command.action = herdctl::Action::kHelp;
    out.help_topic = words.size() == 2 ? absl::AsciiStrToLower(words[1]) : "";
    return out;
  }

  std::vector<std::string> flags, args;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (verb == "scale" && IsCount(w)) {
      args.push_back(w);
    } else if (absl::StartsWith(w, "-")) {
      // "--name[=value]", or "-x[value]": one letter, its value glued on
      // ("-nkube-system" is -n).
      absl::string_view name = w;
      if (absl::ConsumePrefix(&name, "--")) {
        name = name.substr(0, name.find('='));
      } else {
        name = name.substr(1, 1);
      }
      if (name == "wait") continue;  // Slack always follows the operation
      if (IsForeignFlag(name)) {
        return Usage(verb, absl::StrCat(w, " has no meaning in Slack (the namespace goes in NAMESPACE/NAME)"));
      }
      flags.push_back(w);
    } else {
      args.push_back(w);
    }
  }
  if (has_reason) {
    if (verb == "status" || verb == "ops") return Usage(verb, absl::StrCat(verb, " takes no reason"));
    flags.push_back(absl::StrCat("--reason=", reason));
  }

  std::vector<std::string> argv;
  auto need = [&](size_t n, absl::string_view what) -> absl::Status {
    if (args.size() < n) return Usage(verb, absl::StrCat("name ", what));
    return absl::OkStatus();
  };
  if (verb == "rollout" || verb == "undo" || verb == "scale" || verb == "purge" || verb == "status") {
    if (absl::Status st = need(1, "the workload (NAMESPACE/NAME)"); !st.ok()) return st;
    absl::StatusOr<Target> t = ParseTarget(verb, args[0], "a workload");
    if (!t.ok()) return t.status();
    absl::StatusOr<std::string> workload = WorkloadArg(*t, resolve);
    if (!workload.ok()) return workload.status();
    argv = {"-n", t->ns, verb == "status" ? "get" : verb, *workload};
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (verb == "scale") {
      if (rest.size() != 1 || !IsCount(rest[0])) return Usage(verb, "give the replica count: N, +N or -N");
      bool delta = rest[0][0] == '+' || rest[0][0] == '-';
      argv.push_back(absl::StrCat(delta ? "--delta=" : "--replicas=", rest[0]));
      rest.clear();
    } else if (verb == "purge" && !rest.empty() && (rest[0] == "burn" || rest[0] == "rolling")) {
      argv.push_back(absl::StrCat("--mode=", rest[0]));
      rest.erase(rest.begin());
    }
    if (verb != "rollout" && !rest.empty()) {
      return Usage(verb, absl::StrCat("unexpected \"", rest[0], "\""));
    }
    argv.insert(argv.end(), rest.begin(), rest.end());
  } else if (verb == "kill") {
    if (absl::Status st = need(1, "the pods (NAMESPACE/POD)"); !st.ok()) return st;
    std::string ns;
    std::vector<std::string> pods;
    for (const std::string& a : args) {
      absl::StatusOr<Target> t = ParseTarget(verb, a, "a pod");
      if (!t.ok()) return t.status();
      if (!t->kind.empty() && t->kind != "pod" && t->kind != "pods") {
        return Usage(verb, absl::StrCat("\"", a, "\" is not a pod"));
      }
      if (!ns.empty() && t->ns != ns) return Usage(verb, "kill pods of one namespace at a time");
      ns = t->ns;
      pods.push_back(t->name);
    }
    argv = {"-n", ns, "kill"};
    argv.insert(argv.end(), pods.begin(), pods.end());
  } else if (verb == "cronjob") {
    if (absl::Status st = need(2, "the action and the CronJob (NAMESPACE/NAME)"); !st.ok()) return st;
    std::string action = absl::AsciiStrToLower(args[0]);
    if (action == "kill-jobs") action = "kill";
    if (action != "run" && action != "suspend" && action != "resume" && action != "kill") {
      return Usage(verb, absl::StrCat("unknown action \"", args[0], "\""));
    }
    if (args.size() > 2) return Usage(verb, absl::StrCat("unexpected \"", args[2], "\""));
    absl::StatusOr<Target> t = ParseTarget(verb, args[1], "a CronJob");
    if (!t.ok()) return t.status();
    argv = {"-n", t->ns, "cronjob", action, absl::StrCat(t->kind.empty() ? "cj" : t->kind, "/", t->name)};
  } else if (verb == "ops") {
    if (args.size() > 1) return Usage(verb, absl::StrCat("unexpected \"", args[1], "\""));
    if (args.empty()) {
      argv = {"ops", "list", "-A"};
    } else if (args[0].find('/') == std::string::npos) {
      argv = {"-n", args[0], "ops", "list"};
    } else {
      absl::StatusOr<Target> t = ParseTarget(verb, args[0], "a workload");
      if (!t.ok()) return t.status();
      absl::StatusOr<std::string> workload = WorkloadArg(*t, resolve);
      if (!workload.ok()) return workload.status();
      argv = {"-n", t->ns, "ops", "list", *workload};
    }
    bool limited = false;
    for (const std::string& f : flags) limited = limited || absl::StartsWith(f, "--limit");
    if (!limited) argv.push_back("--limit=10");
  } else if (verb == "cancel") {
    if (args.size() != 1) return Usage(verb, "name one operation");
    argv = {"ops", "cancel", args[0]};
  }
  argv.insert(argv.end(), flags.begin(), flags.end());

  absl::StatusOr<herdctl::Command> parsed = herdctl::ParseCommandLine(argv, "default");
  if (!parsed.ok()) {
    absl::string_view message = parsed.status().message();
    return Usage(verb, message.substr(0, message.find("\nUsage:")));
  }
  out.command = *std::move(parsed);
  return out;
}

std::string SlackHelp(absl::string_view topic) {
  if (const VerbUsage* v = FindVerb(topic); v != nullptr) {
    return absl::StrCat("`", v->usage, "`\n", v->what, ".\nFlags are herdctl's: see `herdctl ", topic == "status" ? "get" : topic,
                        " --help`.");
  }
  std::string out = "*herd* rolls out, scales, purges and kills workloads. Commands:\n";
  for (const VerbUsage& v : kVerbs) absl::StrAppend(&out, "• `", v.usage, "`: ", v.what, "\n");
  absl::StrAppend(&out,
                  "A workload is NAMESPACE/NAME, or NAMESPACE/KIND/NAME (deploy, sts, cj) when a name is taken "
                  "twice. `--dry-run` shows the plan and changes "
                  "nothing; `reason: …` ends the command and is kept in the audit.");
  return out;
}

}  // namespace herd::slack
