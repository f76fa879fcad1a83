#include "client/herdctl_args.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/k8s/image.h"
#include "common/k8s/selector.h"

namespace herd::herdctl {
namespace {

// ---------------------------------------------------------------------------
// Flags. One table for every verb, so that a flag's arity is known before the
// verb is (kubectl-style, flags may come before the verb); each verb then
// says which of them it accepts.

struct FlagDef {
  const char* name;
  char short_name;
  bool takes_value;
};

constexpr FlagDef kFlags[] = {
    // Global.
    {"server", 0, true},
    {"token", 0, true},
    {"token-file", 0, true},
    {"tls", 0, false},
    {"ca-file", 0, true},
    {"cert-file", 0, true},
    {"key-file", 0, true},
    {"tls-server-name", 0, true},
    {"namespace", 'n', true},
    {"output", 'o', true},
    {"timeout", 0, true},
    {"verbose", 'v', false},
    {"help", 'h', false},
    // Verbs that change things.
    {"wait", 0, false},
    {"dry-run", 0, false},
    {"reason", 0, true},
    {"request-id", 0, true},
    // Per verb.
    {"strategy", 0, true},
    {"restart", 0, false},
    {"no-rollback", 0, false},
    {"deadline", 0, true},
    {"to-revision", 0, true},
    {"replicas", 0, true},
    {"delta", 0, true},
    {"min", 0, true},
    {"max", 0, true},
    {"hpa-hold", 0, true},
    {"mode", 0, true},
    {"older-than", 0, true},
    {"batch-size", 0, true},
    {"oldest", 0, true},
    {"tag", 0, true},
    {"tag-containers", 0, true},
    {"max-pod-age", 0, true},
    {"scale-on", 0, true},
    {"per-replica", 0, true},
    {"step-up", 0, true},
    {"step-down", 0, true},
    {"up-window", 0, true},
    {"down-window", 0, true},
    {"cooldown", 0, true},
    {"interval", 0, true},
    {"report-only", 0, false},
    {"selector", 'l', true},
    {"force", 0, false},
    {"grace-period", 0, true},
    {"max-pods", 0, true},
    {"all-namespaces", 'A', false},
    {"state", 0, true},
    {"limit", 0, true},
    {"cron", 0, true},
    {"time-zone", 0, true},
    {"late-window", 0, true},
    {"description", 0, true},
    {"paused", 0, false},
};

const std::set<std::string>& GlobalFlags() {
  static const auto* flags = new std::set<std::string>{
      "server", "token", "token-file", "tls", "ca-file", "cert-file", "key-file", "tls-server-name",
      "namespace", "output", "timeout", "verbose", "help"};
  return *flags;
}

const FlagDef* FindFlag(absl::string_view name) {
  for (const FlagDef& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

const FlagDef* FindShortFlag(char c) {
  for (const FlagDef& f : kFlags) {
    if (f.short_name != 0 && f.short_name == c) return &f;
  }
  return nullptr;
}

// How a flag is written back in messages: "-l/--selector" or "--replicas".
std::string FlagSpelling(const FlagDef& f) {
  if (f.short_name != 0) return absl::StrCat("-", std::string(1, f.short_name), "/--", f.name);
  return absl::StrCat("--", f.name);
}

// ---------------------------------------------------------------------------
// Verbs and their help.

constexpr char kMutationFlagsHelp[] = R"(
Flags of every verb that changes something:
  --wait             follow the operation until it ends: a live progress bar
                     on a terminal, one line per change otherwise; the exit
                     code is then the operation's (0 only if it succeeded)
  --dry-run          print the plan (pods affected, budget verdicts, changes,
                     estimated time) and change nothing
  --reason=TEXT      why; goes to the audit trail and notifications
  --request-id=ID    idempotency key: repeating a call with the same ID
                     returns the operation the first one started instead of
                     starting another (default: a fresh ID per call, kept
                     across herdctl's own retries)
)";

constexpr char kGlobalFlagsPointer[] = R"(
Global flags (--server, --token, -n, -o, --timeout, …): see herdctl --help.
)";

struct VerbSpec {
  const char* name;
  bool mutating;
  std::vector<std::string> flags;  // beyond the global ones (and mutation flags when mutating)
  const char* usage;               // the usage line(s), without "Usage:"
  const char* summary;             // one line for the overview
  const char* help;                // description, flags, examples
};

const std::vector<VerbSpec>& Verbs() {
  static const auto* verbs = new std::vector<VerbSpec>{
      {"rollout", true, {"strategy", "restart", "no-rollback", "deadline", "tag", "tag-containers"},
       "herdctl rollout deploy/NAME (CONTAINER=IMAGE… | --tag=TAG [--tag-containers=NAME,…]) [--restart] "
       "[--strategy=fast|rolling] [--no-rollback] [--deadline=DURATION]",
       "set container images of a Deployment or StatefulSet, or restart its pods",
       R"(Sets container images of a Deployment (deploy/NAME) or StatefulSet
(sts/NAME); containers not named keep theirs. --tag sets a new tag on the
containers' images, each keeping its repository (registry/web:1.4 →
registry/web:42; --tag-containers limits it to the containers named). With
--restart, replaces every pod even when no image changes (CONTAINER=IMAGE
may then be left out).

FAST (the default) starts every new pod at once and cuts over when all are
Ready, never with fewer available pods than before: one wave of pod starts
instead of several. ROLLING uses the workload's own update strategy, as
kubectl does. A rollout fails on its deadline, on crash loops or on image
pull errors, and then rolls back by itself unless --no-rollback is given.

Flags:
  --strategy=fast|rolling   how new pods replace old ones (default fast)
  --restart                 replace every pod even if no image changes
  --tag=TAG                 instead of CONTAINER=IMAGE: this tag on every
                            container's image (not init containers)
  --tag-containers=NAME,…   only these containers' images (init ones too)
  --no-rollback             leave a failed rollout as it is, to look at it
  --deadline=DURATION       give up after this long (default: the workload's
                            progressDeadlineSeconds, 10m when it has none)

Examples:
  # A new image for container "web"; follow it, exit 0 only on success
  herdctl -n shop rollout deploy/web web=registry.example/web:1.4.2 --wait

  # Two containers at once, saying why
  herdctl rollout deploy/api api=registry.example/api:2.0 envoy=envoyproxy/envoy:v1.28 --reason="JIRA-123"

  # The release's tag on each container of the api, registries kept
  herdctl -n shop rollout deploy/api --tag=42 --tag-containers=api --wait

  # Restart every pod of a StatefulSet the workload's own way
  herdctl rollout sts/db --restart --strategy=rolling --wait

  # What would it do?
  herdctl rollout deploy/web web=registry.example/web:1.5.0 --dry-run
)"},
      {"undo", true, {"to-revision", "strategy"},
       "herdctl undo deploy/NAME [--to-revision=N] [--strategy=fast|rolling]",
       "roll a workload back to an earlier revision",
       R"(Rolls a Deployment or StatefulSet back to the revision before the current
one, or to revision N. Revisions are shown by `herdctl get deploy/NAME`.

Flags:
  --to-revision=N           the revision to go back to (default: the previous)
  --strategy=fast|rolling   as for rollout (default fast)

Examples:
  herdctl -n shop undo deploy/web --wait
  herdctl undo sts/db --to-revision=12 --reason="bad schema migration"
)"},
      {"scale", true, {"replicas", "delta", "min", "max", "hpa-hold"},
       "herdctl scale deploy/NAME (--replicas=N | --delta=±N) [--min=N] [--max=N] [--hpa-hold=DURATION]",
       "set or change the replica count",
       R"(Sets the replica count of a Deployment or StatefulSet, absolutely
(--replicas) or relatively (--delta, negative to remove), and is done when
the new pods are Ready or the removed ones gone. --min and --max bound the
result: a change that would leave them is refused. When a
HorizontalPodAutoscaler manages the workload, its bounds are moved to the new
count for --hpa-hold and then restored.

Flags:
  --replicas=N              the new replica count
  --delta=±N                added to the current count (--delta=-2 removes two)
  --min=N, --max=N          bounds the result must stay within
  --hpa-hold=DURATION       how long an autoscaler is held at the new count
                            (default 1h)

Examples:
  herdctl -n shop scale deploy/web --replicas=10 --wait
  herdctl scale deploy/worker --delta=+5 --max=40 --reason="queue backlog"
  herdctl scale sts/cache --delta=-1 --min=3
)"},
      {"purge", true, {"mode", "older-than", "oldest", "batch-size", "selector"},
       "herdctl purge (deploy/NAME | -l SELECTOR) [--mode=rolling|burn] [--older-than=DURATION] [--oldest=N] "
       "[--batch-size=N]",
       "replace every pod of a workload or selector",
       R"(Replaces every pod of a Deployment or StatefulSet, or every pod in the
namespace that a label selector picks. ROLLING (the default) starts the
replacements first and then removes the old pods, keeping availability and
honouring PodDisruptionBudgets. BURN deletes them all at once. --older-than
replaces only pods past an age: the daily refresh.

Flags:
  --mode=rolling|burn        how (default rolling)
  --older-than=DURATION      only pods older than this (e.g. 24h, 7d)
  --oldest=N                 only the N oldest of them, per workload
  --batch-size=N             rolling: replacements started at a time
                             (default: all)
  -l, --selector=SELECTOR    the pods to replace, instead of a workload

Examples:
  herdctl -n shop purge deploy/web --wait
  herdctl -n shop purge deploy/web --older-than=24h --batch-size=2
  herdctl -n jobs purge -l app=worker,tier!=canary --mode=burn --reason="stuck consumers"
)"},
      {"kill", true, {"selector", "force", "grace-period", "max-pods"},
       "herdctl kill (POD… | -l SELECTOR) [--force] [--grace-period=SECONDS] [--max-pods=N]",
       "kill pods by name or selector",
       R"(Kills pods, named (NAME or pod/NAME) or picked by a label selector, through
the eviction API: a PodDisruptionBudget may refuse, and the refusal names it.
With --force the pods are deleted instead and budgets are not consulted. A
call that would kill more than --max-pods pods is refused.

Flags:
  -l, --selector=SELECTOR    the pods to kill, instead of names
  --force                    delete instead of evicting (budgets ignored)
  --grace-period=SECONDS     termination grace period (default: the pod's own)
  --max-pods=N               refuse to kill more than N pods (default 10)

Examples:
  herdctl -n shop kill web-7d4b9c-x2x9q --wait
  herdctl -n shop kill web-7d4b9c-x2x9q web-7d4b9c-kq8zd --grace-period=5
  herdctl -n jobs kill -l app=worker --max-pods=50 --force --reason="wedged"
)"},
      {"cronjob", true, {},
       "herdctl cronjob (run | suspend | resume | kill) NAME",
       "run, suspend or resume a CronJob, or kill its running Jobs",
       R"(Acts on a CronJob (NAME or cj/NAME):
  run       start a Job from it now
  suspend   stop it from scheduling new Jobs
  resume    let a suspended CronJob schedule again
  kill      kill its running Jobs and their pods

Examples:
  herdctl -n batch cronjob run cj/nightly-report --wait
  herdctl -n batch cronjob suspend nightly-report --reason="db maintenance"
  herdctl -n batch cronjob kill nightly-report
)"},
      {"get", false, {},
       "herdctl get (deploy/NAME | sts/NAME | cj/NAME)",
       "show one workload: replicas, images, revision, pods, running operation",
       R"(Shows one workload: replica counts, containers and images, revision, the
operation acting on it, its autoscaler, and its pods (or, for a CronJob, its
schedule and Jobs). `get deploy NAME` works too.

Examples:
  herdctl -n shop get deploy/web
  herdctl -n shop get sts/db -o yaml
)"},
      {"list", false, {"all-namespaces", "selector"},
       "herdctl list [deploy | sts | cj] [-A] [-l SELECTOR]",
       "list workloads of a namespace (-A: of every namespace)",
       R"(Lists Deployments, StatefulSets and CronJobs (all three unless one kind is
named) of the namespace, or of every namespace with -A. POD-AGE is the age of
the oldest pod.

Flags:
  -A, --all-namespaces       every namespace you may see
  -l, --selector=SELECTOR    only workloads with these labels

Examples:
  herdctl -n shop list
  herdctl list deploy -A -l team=payments
  herdctl list cj -n batch -o json
)"},
      {"policy", false, {"cron", "time-zone", "late-window", "max-pod-age", "scale-on", "per-replica", "min", "max",
                         "step-up", "step-down", "up-window", "down-window", "cooldown", "interval", "report-only",
                         "description", "paused", "reason"},
       "herdctl policy (create ID --cron=SPEC [--time-zone=ZONE] [--late-window=DURATION] [--description=TEXT] "
       "[--paused] -- VERB ARGS… | create ID --max-pod-age=DURATION deploy/NAME [--reason=TEXT] | "
       "create ID --scale-on=PROMQL --per-replica=N --max=N [--min=N] [--step-up=N] [--step-down=N] "
       "[--up-window=D] [--down-window=D] [--cooldown=D] [--interval=D] [--report-only] deploy/NAME | list | show ID | "
       "pause ID [--reason=TEXT] | resume ID [--reason=TEXT] | delete ID)",
       "keep standing policies: an action on a schedule, a maximum pod age, scaling with load",
       R"(A policy is kept in the cluster and run by the herdd that leads. Each run
is an ordinary operation (locks, audit, notifications) by principal
"policy:ID", with the rights your token has at that moment.

  create ID     a schedule: the action after `--` is a herdctl command line
                (purge, scale, kill, rollout --restart, cronjob …), run at the
                times --cron names, read in --time-zone (default UTC)
  create ID --max-pod-age=DURATION (deploy|sts)/NAME
                the daily refresh without a midnight storm: the workload's
                pods are kept younger than DURATION, the oldest replaced
                (rolling, honouring budgets) a few at a time, spread evenly
                over DURATION; nothing while the workload is not settled
  create ID --scale-on=PROMQL --per-replica=N --max=N deploy/NAME
                scaling with load: every --interval (30s) the query is asked
                of herdd's Prometheus, and the workload scaled to
                ceil(value / N) within --min (1) … --max, a scale-up following
                the lowest value of --up-window (0s), a scale-down the highest
                of --down-window (5m), at most --step-up / --step-down
                replicas at once, none within --cooldown (1m) of the last;
                --report-only records what it would do; it stands back while
                a HorizontalPodAutoscaler manages the workload. With --min=0,
                make the query answer 0 when no pod reports (… or vector(0))
  list          the policies you may read, with their next run
  show ID       one policy: its schedule, next runs and latest decisions
  pause ID      stop it from running (what it started goes on)
  resume ID     let it run again from now (missed runs are not made up)
  delete ID     remove it

A run missed while no herdd led runs once, late, when found within
--late-window of its time (default 1h); otherwise it is skipped, and the
skip shows in `policy show`.

Flags:
  --cron=SPEC                create: five fields (minute hour day month weekday)
                             or @hourly, @daily, @weekly, @every DURATION
  --time-zone=ZONE           create: an IANA zone, e.g. Europe/Paris
  --late-window=DURATION     create: how late a missed run may still run
  --max-pod-age=DURATION     create: keep the workload's pods younger than this
  --scale-on=PROMQL          create: the load (one number: aggregate it)
  --per-replica=N            create: the load one replica takes
  --description=TEXT         create: what it is for
  --paused                   create: kept, not run until resumed
  --reason=TEXT              pause, resume: why; create --max-pod-age or
                             --scale-on: its operations' reason

Examples:
  herdctl -n shop policy create web-refresh --cron="0 4 * * *" --time-zone=Europe/Paris \
      -- purge deploy/web --older-than=20h --reason="daily refresh"
  herdctl -n shop policy create night-scale --cron="0 22 * * *" -- scale deploy/api --replicas=2
  herdctl -n shop policy create web-age --max-pod-age=24h deploy/web
  herdctl -n jobs policy create workers --scale-on='sum(queue_depth{queue="jobs"})' --per-replica=50 \
      --min=2 --max=40 --step-down=2 deploy/worker
  herdctl policy list
  herdctl policy show web-refresh
  herdctl policy pause web-refresh --reason="release freeze"
)"},
      {"ops", false, {"all-namespaces", "state", "limit", "wait", "reason"},
       "herdctl ops (get ID | list [deploy/NAME] [--state=STATE,…] [-A] [--limit=N] | watch ID | "
       "cancel ID [--reason=TEXT] [--wait] | approve ID [--reason=TEXT] [--wait] | reject ID [--reason=TEXT])",
       "show, follow, cancel, approve and reject operations",
       R"(Operations are what the verbs that change things start. ID is the
operation's id, with or without the "operations/" prefix.

  get ID        one operation: progress, events, timings, failure, plan
  list          operations of the namespace (-A: all), newest first;
                a workload (deploy/NAME) narrows it to that workload
  watch ID      follow until it ends; the exit code is the operation's
  cancel ID     ask it to stop; a rollout that is cancelled rolls back unless
                it was started with --no-rollback. With --wait, follows it and
                exits 0 if it ended cancelled or rolled back. One waiting for
                approval ends at once, having done nothing
  approve ID    approve an operation an approval rule of herd's holds
                (PendingApproval): it starts. Needs the verb "approve" on its
                workload; nobody approves their own. With --wait, follows it
                to its end; the exit code is the operation's
  reject ID     reject it: it ends Cancelled, having done nothing

Flags:
  --state=STATE,…            list: only these states (pending, running,
                             succeeded, failed, cancelled, rolled-back,
                             pending-approval; active = pending, running
                             and pending-approval)
  -A, --all-namespaces       list: every namespace
  --limit=N                  list: at most N operations (default: all)
  --reason=TEXT              cancel, approve, reject: why
  --wait                     cancel, approve: follow the operation until it ends

Examples:
  herdctl ops list --state=active -A
  herdctl -n shop ops list deploy/web
  herdctl ops get 01hf3k9v2c
  herdctl ops watch 01hf3k9v2c
  herdctl ops cancel operations/01hf3k9v2c --reason="wrong image" --wait
  herdctl ops list --state=pending-approval -A
  herdctl ops approve 01hf3k9v2c --reason="checked the plan" --wait
)"},
  };
  return *verbs;
}

const VerbSpec* FindVerb(absl::string_view name) {
  for (const VerbSpec& v : Verbs()) {
    if (name == v.name) return &v;
  }
  return nullptr;
}

constexpr char kOverallUsage[] = "herdctl [--server=HOST:PORT] [--token=TOKEN] [-n NAMESPACE] VERB …";

absl::Status UsageError(absl::string_view verb, absl::string_view message) {
  const bool known = FindVerb(verb) != nullptr;
  return absl::InvalidArgumentError(absl::StrCat(message, "\nUsage: ", UsageLine(verb), "\nSee herdctl ",
                                                 known ? absl::StrCat(verb, " ") : "", "--help for more."));
}

// ---------------------------------------------------------------------------
// Tokens.

struct Tokens {
  std::vector<std::string> positionals;
  std::map<std::string, std::string> values;  // flag name → value ("true"/"false" for switches)
  std::vector<std::string> order;             // flags in the order given, as written
  std::string error;                          // the first problem, if any
  // How many positionals came before a `--` that ended the flags (npos: none).
  size_t before_dashes = std::string::npos;
};

Tokens Tokenize(const std::vector<std::string>& args) {
  Tokens t;
  auto fail = [&](std::string message) {
    if (t.error.empty()) t.error = std::move(message);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      t.before_dashes = t.positionals.size();
      for (++i; i < args.size(); ++i) t.positionals.push_back(args[i]);
      break;
    }
    const FlagDef* def = nullptr;
    std::optional<std::string> inline_value;
    std::string written;
    if (absl::StartsWith(arg, "--")) {
      absl::string_view body = absl::string_view(arg).substr(2);
      size_t eq = body.find('=');
      absl::string_view name = body.substr(0, eq);
      if (eq != absl::string_view::npos) inline_value = std::string(body.substr(eq + 1));
      def = FindFlag(name);
      written = absl::StrCat("--", name);
      if (def == nullptr) {
        fail(absl::StrCat("unknown flag ", written));
        continue;
      }
    } else if (arg.size() >= 2 && arg[0] == '-') {
      def = FindShortFlag(arg[1]);
      written = arg.substr(0, 2);
      if (def == nullptr) {
        fail(absl::StrCat("unknown flag ", written));
        continue;
      }
      if (arg.size() > 2) {
        // -nshop and -n=shop both mean -n shop; switches do not combine.
        if (!def->takes_value && arg[2] != '=') {
          fail(absl::StrCat("unknown flag ", arg, " (short flags do not combine; write them apart)"));
          continue;
        }
        inline_value = arg.substr(arg[2] == '=' ? 3 : 2);
      }
    } else {
      t.positionals.push_back(arg);
      continue;
    }
    std::string value;
    if (def->takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        fail(absl::StrCat("flag ", written, " needs a value"));
        continue;
      }
    } else if (inline_value) {
      std::string v = absl::AsciiStrToLower(*inline_value);
      if (v == "true" || v == "1") {
        value = "true";
      } else if (v == "false" || v == "0") {
        value = "false";
      } else {
        fail(absl::StrCat("flag ", written, " is a switch: give it alone, or =true / =false"));
        continue;
      }
    } else {
      value = "true";
    }
    t.values[def->name] = value;
    t.order.push_back(def->name);
  }
  return t;
}

// ---------------------------------------------------------------------------
// Values.

class FlagReader {
 public:
  FlagReader(absl::string_view verb, const Tokens& tokens) : verb_(verb), tokens_(tokens) {}

  bool Has(const char* name) const { return tokens_.values.count(name) > 0; }
  std::string String(const char* name) const {
    auto it = tokens_.values.find(name);
    return it == tokens_.values.end() ? std::string() : it->second;
  }
  bool Bool(const char* name) const { return String(name) == "true"; }

  absl::Status Error(const char* name, absl::string_view message) const {
    return UsageError(verb_, absl::StrCat(FlagSpelling(*FindFlag(name)), ": ", message));
  }

  absl::StatusOr<int64_t> Int(const char* name, int64_t min, int64_t max, bool allow_plus = false) const {
    std::string text = String(name);
    absl::string_view digits = text;
    if (allow_plus) absl::ConsumePrefix(&digits, "+");
    int64_t v = 0;
    if (digits.empty() || digits[0] == '+' || !absl::SimpleAtoi(digits, &v)) {
      return Error(name, absl::StrCat("expected a whole number, got \"", text, "\""));
    }
    if (v < min || v > max) {
      if (max == std::numeric_limits<int32_t>::max()) {
        return Error(name, absl::StrCat("must be at least ", min, ", got ", v));
      }
      return Error(name, absl::StrCat("must be between ", min, " and ", max, ", got ", v));
    }
    return v;
  }

  absl::StatusOr<int32_t> Int32(const char* name, int32_t min, bool allow_plus = false) const {
    absl::StatusOr<int64_t> v = Int(name, min, std::numeric_limits<int32_t>::max(), allow_plus);
    if (!v.ok()) return v.status();
    return static_cast<int32_t>(*v);
  }

  // google.protobuf.Duration's largest value: 10000 years.
  static constexpr int64_t kMaxProtoDurationSeconds = 315'576'000'000;

  // Durations as Go and absl write them ("90s", "10m", "1h30m", "500ms"),
  // plus whole days ("7d"), the unit people use for pod ages.
  absl::StatusOr<absl::Duration> Duration(const char* name, bool allow_zero) const {
    std::string text = String(name);
    absl::Duration d;
    bool ok = false;
    absl::string_view days = text;
    int64_t n = 0;
    if (absl::ConsumeSuffix(&days, "d") && absl::SimpleAtoi(days, &n) && n >= 0 && n < 100000) {
      d = absl::Hours(24 * n);
      ok = true;
    } else if (text != "0" && text != "inf" && text != "+inf" && text != "-inf") {
      ok = absl::ParseDuration(text, &d);
    } else if (text == "0") {
      d = absl::ZeroDuration();
      ok = true;
    }
    if (!ok) {
      return Error(name, absl::StrCat("expected a duration such as 90s, 10m, 1h30m or 7d, got \"", text, "\""));
    }
    if (d < absl::ZeroDuration()) return Error(name, absl::StrCat("must not be negative, got \"", text, "\""));
    // What a google.protobuf.Duration can carry; a longer one would reach
    // the server as an invalid message that it cannot store as JSON.
    if (d > absl::Seconds(kMaxProtoDurationSeconds)) {
      return Error(name, absl::StrCat("must be at most 10000 years, got \"", text, "\""));
    }
    if (!allow_zero && d == absl::ZeroDuration()) {
      return Error(name, absl::StrCat("must be longer than zero, got \"", text, "\""));
    }
    return d;
  }

 private:
  absl::string_view verb_;
  const Tokens& tokens_;
};

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  absl::Duration rem;
  int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &rem);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(rem)));
}

// ---------------------------------------------------------------------------
// Names.

enum class Kind { kDeployment, kStatefulSet, kCronJob, kPod };

struct KindInfo {
  Kind kind;
  const char* plural;  // as in resource names
  const char* short_name;
  std::vector<std::string> aliases;
};

const std::vector<KindInfo>& Kinds() {
  static const auto* kinds = new std::vector<KindInfo>{
      {Kind::kDeployment, "deployments", "deploy", {"deploy", "deployment", "deployments", "deployment.apps", "deployments.apps"}},
      {Kind::kStatefulSet, "statefulsets", "sts", {"sts", "statefulset", "statefulsets", "statefulset.apps", "statefulsets.apps"}},
      {Kind::kCronJob, "cronjobs", "cj", {"cj", "cronjob", "cronjobs", "cronjob.batch", "cronjobs.batch"}},
      {Kind::kPod, "pods", "pod", {"po", "pod", "pods"}},
  };
  return *kinds;
}

const KindInfo* FindKind(absl::string_view word) {
  std::string lower = absl::AsciiStrToLower(word);
  for (const KindInfo& k : Kinds()) {
    if (std::find(k.aliases.begin(), k.aliases.end(), lower) != k.aliases.end()) return &k;
  }
  return nullptr;
}

const KindInfo& InfoOf(Kind kind) {
  for (const KindInfo& k : Kinds()) {
    if (k.kind == kind) return k;
  }
  return Kinds().front();
}

bool IsAlnumLower(char c) { return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'z'); }

// RFC 1123 label: what Kubernetes requires of namespaces and container names.
bool IsDnsLabel(absl::string_view s) {
  if (s.empty() || s.size() > 63 || !IsAlnumLower(s.front()) || !IsAlnumLower(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnumLower(c) || c == '-'; });
}

// RFC 1123 subdomain: what Kubernetes requires of most object names.
bool IsDnsSubdomain(absl::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (absl::string_view part : absl::StrSplit(s, '.')) {
    if (part.empty() || !IsAlnumLower(part.front()) || !IsAlnumLower(part.back())) return false;
    if (!std::all_of(part.begin(), part.end(), [](char c) { return IsAlnumLower(c) || c == '-'; })) return false;
  }
  return true;
}

std::string KindList(const std::vector<Kind>& allowed) {
  std::vector<std::string> parts;
  for (Kind k : allowed) parts.push_back(absl::StrCat(InfoOf(k).short_name, "/NAME"));
  return absl::StrJoin(parts, " or ");
}

struct Ref {
  Kind kind;
  std::string namespace_name;
  std::string name;
  std::string Resource() const {
    return absl::StrCat("namespaces/", namespace_name, "/", InfoOf(kind).plural, "/", name);
  }
};

// "deploy/web", "deployment/web", "namespaces/shop/deployments/web"; with a
// `bare_kind`, a plain "web" is of that kind.
absl::StatusOr<Ref> ParseRef(absl::string_view verb, absl::string_view arg, const std::string& namespace_name,
                             const std::vector<Kind>& allowed, std::optional<Kind> bare_kind = std::nullopt) {
  Ref ref;
  ref.namespace_name = namespace_name;
  const KindInfo* kind = nullptr;
  std::vector<absl::string_view> parts = absl::StrSplit(arg, '/');
  if (parts.size() == 4 && parts[0] == "namespaces") {
    kind = FindKind(parts[2]);
    if (!IsDnsLabel(parts[1])) {
      return UsageError(verb, absl::StrCat("\"", parts[1], "\" in \"", arg, "\" is not a valid namespace name"));
    }
    ref.namespace_name = std::string(parts[1]);
    ref.name = std::string(parts[3]);
  } else if (parts.size() == 2) {
    kind = FindKind(parts[0]);
    if (kind == nullptr) {
      return UsageError(verb, absl::StrCat("unknown kind \"", parts[0], "\" in \"", arg, "\"; name it as ",
                                           KindList(allowed)));
    }
    ref.name = std::string(parts[1]);
  } else if (parts.size() == 1 && bare_kind) {
    kind = &InfoOf(*bare_kind);
    ref.name = std::string(arg);
  } else {
    return UsageError(verb, absl::StrCat("\"", arg, "\" is not a workload; name it as ", KindList(allowed)));
  }
  if (kind == nullptr || std::find(allowed.begin(), allowed.end(), kind->kind) == allowed.end()) {
    return UsageError(verb, absl::StrCat(verb, " works on ", KindList(allowed), ", not \"", arg, "\""));
  }
  ref.kind = kind->kind;
  if (!IsDnsSubdomain(ref.name)) {
    return UsageError(verb, absl::StrCat("\"", ref.name,
                                         "\" is not a valid name: lowercase letters, digits, '-' and '.', "
                                         "starting and ending with a letter or digit"));
  }
  return ref;
}

std::string NormalizeOperation(absl::string_view id) {
  absl::ConsumePrefix(&id, "operations/");
  return absl::StrCat("operations/", id);
}

absl::Status CheckOperationId(absl::string_view verb, absl::string_view arg) {
  absl::string_view id = arg;
  absl::ConsumePrefix(&id, "operations/");
  if (id.empty() || absl::StrContains(id, '/') ||
      std::any_of(id.begin(), id.end(), [](char c) { return c <= ' ' || c > '~'; })) {
    return UsageError(verb, absl::StrCat("\"", arg, "\" is not an operation id"));
  }
  return absl::OkStatus();
}

absl::Status CheckSelector(absl::string_view verb, absl::string_view selector) {
  if (selector.empty()) return UsageError(verb, "-l/--selector: the selector is empty");
  absl::StatusOr<k8s::LabelSelector> parsed = k8s::LabelSelector::Parse(selector);
  if (!parsed.ok()) return UsageError(verb, absl::StrCat("-l/--selector: ", parsed.status().message()));
  return absl::OkStatus();
}

absl::StatusOr<v1::RolloutStrategy> ParseStrategy(const FlagReader& flags) {
  if (!flags.Has("strategy")) return v1::ROLLOUT_STRATEGY_UNSPECIFIED;
  std::string s = absl::AsciiStrToLower(flags.String("strategy"));
  if (s == "fast") return v1::ROLLOUT_STRATEGY_FAST;
  if (s == "rolling") return v1::ROLLOUT_STRATEGY_ROLLING;
  return flags.Error("strategy", absl::StrCat("expected fast or rolling, got \"", flags.String("strategy"), "\""));
}

// ---------------------------------------------------------------------------
// Verbs.

struct VerbContext {
  const VerbSpec& spec;
  const std::vector<std::string>& args;  // after the verb
  const FlagReader& flags;
  Command& cmd;
};

absl::Status TooManyArgs(absl::string_view verb, const std::vector<std::string>& args, size_t used) {
  if (args.size() <= used) return absl::OkStatus();
  return UsageError(verb, absl::StrCat("unexpected argument \"", args[used], "\""));
}

absl::StatusOr<Ref> WorkloadArg(const VerbContext& c, const std::vector<Kind>& allowed) {
  if (c.args.empty()) return UsageError(c.spec.name, absl::StrCat("name the workload (", KindList(allowed), ")"));
  return ParseRef(c.spec.name, c.args[0], c.cmd.global.namespace_name, allowed);
}

const std::vector<Kind> kDeployOrSts = {Kind::kDeployment, Kind::kStatefulSet};

absl::Status ParseRollout(const VerbContext& c) {
  absl::StatusOr<Ref> ref = WorkloadArg(c, kDeployOrSts);
  if (!ref.ok()) return ref.status();
  v1::RolloutRequest& r = c.cmd.rollout;
  r.set_workload(ref->Resource());
  for (size_t i = 1; i < c.args.size(); ++i) {
    const std::string& arg = c.args[i];
    size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      return UsageError(c.spec.name, absl::StrCat("expected CONTAINER=IMAGE, got \"", arg, "\""));
    }
    std::string container = arg.substr(0, eq);
    std::string image = arg.substr(eq + 1);
    if (!IsDnsLabel(container)) {
      return UsageError(c.spec.name, absl::StrCat("\"", container, "\" in \"", arg, "\" is not a valid container name"));
    }
    if (image.empty() || std::any_of(image.begin(), image.end(), [](char ch) { return ch <= ' ' || ch > '~'; })) {
      return UsageError(c.spec.name, absl::StrCat("\"", arg, "\" has no valid image after '='"));
    }
    if (!r.mutable_images()->insert({container, image}).second) {
      return UsageError(c.spec.name, absl::StrCat("container \"", container, "\" is named twice"));
    }
  }
  r.set_restart(c.flags.Bool("restart"));
  if (c.flags.Has("tag")) {
    if (!r.images().empty()) return UsageError(c.spec.name, "give CONTAINER=IMAGE pairs or --tag, not both");
    r.set_tag(c.flags.String("tag"));
    if (absl::Status st = k8s::CheckImageTag(r.tag()); !st.ok()) return c.flags.Error("tag", st.message());
  }
  if (c.flags.Has("tag-containers")) {
    if (!c.flags.Has("tag")) return c.flags.Error("tag-containers", "needs --tag");
    for (absl::string_view name : absl::StrSplit(c.flags.String("tag-containers"), ',', absl::SkipEmpty())) {
      if (!IsDnsLabel(std::string(name))) {
        return c.flags.Error("tag-containers", absl::StrCat("\"", name, "\" is not a valid container name"));
      }
      r.add_tag_containers(std::string(name));
    }
  }
  if (r.images().empty() && r.tag().empty() && !r.restart()) {
    return UsageError(c.spec.name, "nothing to do: give at least one CONTAINER=IMAGE, --tag, or --restart");
  }
  absl::StatusOr<v1::RolloutStrategy> strategy = ParseStrategy(c.flags);
  if (!strategy.ok()) return strategy.status();
  r.set_strategy(*strategy);
  r.set_no_rollback(c.flags.Bool("no-rollback"));
  if (c.flags.Has("deadline")) {
    absl::StatusOr<absl::Duration> d = c.flags.Duration("deadline", /*allow_zero=*/false);
    if (!d.ok()) return d.status();
    SetDuration(*d, r.mutable_deadline());
  }
  *r.mutable_options() = c.cmd.mutation;
  c.cmd.action = Action::kRollout;
  return absl::OkStatus();
}

absl::Status ParseUndo(const VerbContext& c) {
  absl::StatusOr<Ref> ref = WorkloadArg(c, kDeployOrSts);
  if (!ref.ok()) return ref.status();
  if (absl::Status s = TooManyArgs(c.spec.name, c.args, 1); !s.ok()) return s;
  v1::UndoRequest& r = c.cmd.undo;
  r.set_workload(ref->Resource());
  if (c.flags.Has("to-revision")) {
    absl::StatusOr<int64_t> rev = c.flags.Int("to-revision", 1, std::numeric_limits<int64_t>::max());
    if (!rev.ok()) return rev.status();
    r.set_to_revision(*rev);
  }
  absl::StatusOr<v1::RolloutStrategy> strategy = ParseStrategy(c.flags);
  if (!strategy.ok()) return strategy.status();
  r.set_strategy(*strategy);
  *r.mutable_options() = c.cmd.mutation;
  c.cmd.action = Action::kUndo;
  return absl::OkStatus();
}

absl::Status ParseScale(const VerbContext& c) {
  absl::StatusOr<Ref> ref = WorkloadArg(c, kDeployOrSts);
  if (!ref.ok()) return ref.status();
  if (absl::Status s = TooManyArgs(c.spec.name, c.args, 1); !s.ok()) return s;
  v1::ScaleRequest& r = c.cmd.scale;
  r.set_workload(ref->Resource());
  const bool has_replicas = c.flags.Has("replicas");
  const bool has_delta = c.flags.Has("delta");
  if (has_replicas == has_delta) {
    return UsageError(c.spec.name, has_replicas ? "give --replicas or --delta, not both"
                                                : "give the new count (--replicas=N) or a change (--delta=±N)");
  }
  if (has_replicas) {
    absl::StatusOr<int32_t> n = c.flags.Int32("replicas", 0);
    if (!n.ok()) return n.status();
    r.set_replicas(*n);
  } else {
    absl::StatusOr<int64_t> n = c.flags.Int("delta", std::numeric_limits<int32_t>::min(),
                                            std::numeric_limits<int32_t>::max(), /*allow_plus=*/true);
    if (!n.ok()) return n.status();
    if (*n == 0) return c.flags.Error("delta", "a change of 0 changes nothing");
    r.set_delta(static_cast<int32_t>(*n));
  }
  if (c.flags.Has("min")) {
    absl::StatusOr<int32_t> n = c.flags.Int32("min", 0);
    if (!n.ok()) return n.status();
    r.set_min_replicas(*n);
  }
  if (c.flags.Has("max")) {
    absl::StatusOr<int32_t> n = c.flags.Int32("max", 0);
    if (!n.ok()) return n.status();
    r.set_max_replicas(*n);
  }
  if (r.max_replicas() > 0 && r.min_replicas() > r.max_replicas()) {
    return UsageError(c.spec.name,
                      absl::StrCat("--min=", r.min_replicas(), " is above --max=", r.max_replicas()));
  }
  if (has_replicas && r.max_replicas() > 0 && r.replicas() > r.max_replicas()) {
    return UsageError(c.spec.name,
                      absl::StrCat("--replicas=", r.replicas(), " is above --max=", r.max_replicas()));
  }
  if (has_replicas && r.replicas() < r.min_replicas()) {
    return UsageError(c.spec.name,
                      absl::StrCat("--replicas=", r.replicas(), " is below --min=", r.min_replicas()));
  }
  if (c.flags.Has("hpa-hold")) {
    absl::StatusOr<absl::Duration> d = c.flags.Duration("hpa-hold", /*allow_zero=*/false);
    if (!d.ok()) return d.status();
    SetDuration(*d, r.mutable_hpa_hold());
  }
  *r.mutable_options() = c.cmd.mutation;
  c.cmd.action = Action::kScale;
  return absl::OkStatus();
}

absl::Status ParsePurge(const VerbContext& c) {
  v1::PurgeRequest& r = c.cmd.purge;
  const bool by_selector = c.flags.Has("selector");
  if (by_selector) {
    if (!c.args.empty()) {
      return UsageError(c.spec.name, absl::StrCat("give a workload or -l SELECTOR, not both (got \"", c.args[0], "\")"));
    }
    if (absl::Status s = CheckSelector(c.spec.name, c.flags.String("selector")); !s.ok()) return s;
    r.set_namespace_(c.cmd.global.namespace_name);
    r.set_label_selector(c.flags.String("selector"));
  } else {
    if (c.args.empty()) return UsageError(c.spec.name, "name the workload (deploy/NAME or sts/NAME) or give -l SELECTOR");
    absl::StatusOr<Ref> ref = WorkloadArg(c, kDeployOrSts);
    if (!ref.ok()) return ref.status();
    if (absl::Status s = TooManyArgs(c.spec.name, c.args, 1); !s.ok()) return s;
    r.set_workload(ref->Resource());
  }
  if (c.flags.Has("mode")) {
    std::string m = absl::AsciiStrToLower(c.flags.String("mode"));
    if (m == "rolling") {
      r.set_mode(v1::PURGE_MODE_ROLLING);
    } else if (m == "burn") {
      r.set_mode(v1::PURGE_MODE_BURN);
    } else {
      return c.flags.Error("mode", absl::StrCat("expected rolling or burn, got \"", c.flags.String("mode"), "\""));
    }
  }
  if (c.flags.Has("older-than")) {
    absl::StatusOr<absl::Duration> d = c.flags.Duration("older-than", /*allow_zero=*/true);
    if (!d.ok()) return d.status();
    SetDuration(*d, r.mutable_older_than());
  }
  if (c.flags.Has("oldest")) {
    absl::StatusOr<int32_t> n = c.flags.Int32("oldest", 1);
    if (!n.ok()) return n.status();
    r.set_oldest(*n);
  }
  if (c.flags.Has("batch-size")) {
    if (r.mode() == v1::PURGE_MODE_BURN) return c.flags.Error("batch-size", "applies to --mode=rolling only");
    absl::StatusOr<int32_t> n = c.flags.Int32("batch-size", 1);
    if (!n.ok()) return n.status();
    r.set_batch_size(*n);
  }
  *r.mutable_options() = c.cmd.mutation;
  c.cmd.action = Action::kPurge;
  return absl::OkStatus();
}

absl::Status ParseKill(const VerbContext& c) {
  v1::KillRequest& r = c.cmd.kill;
  r.set_namespace_(c.cmd.global.namespace_name);
  if (c.flags.Has("selector")) {
    if (!c.args.empty()) {
      return UsageError(c.spec.name, absl::StrCat("give pod names or -l SELECTOR, not both (got \"", c.args[0], "\")"));
    }
    if (absl::Status s = CheckSelector(c.spec.name, c.flags.String("selector")); !s.ok()) return s;
    r.set_label_selector(c.flags.String("selector"));
  } else {
    if (c.args.empty()) return UsageError(c.spec.name, "name the pods to kill, or give -l SELECTOR");
    std::set<std::string> seen;
    for (const std::string& arg : c.args) {
      absl::StatusOr<Ref> ref = ParseRef(c.spec.name, arg, c.cmd.global.namespace_name, {Kind::kPod}, Kind::kPod);
      if (!ref.ok()) return ref.status();
      if (ref->namespace_name != c.cmd.global.namespace_name) {
        return UsageError(c.spec.name, absl::StrCat("\"", arg, "\" is not in namespace ", c.cmd.global.namespace_name,
                                                    "; one call kills pods of one namespace (-n)"));
      }
      if (seen.insert(ref->name).second) r.add_pods(ref->name);
    }
  }
  r.set_force(c.flags.Bool("force"));
  if (c.flags.Has("grace-period")) {
    absl::StatusOr<int64_t> s = c.flags.Int("grace-period", 0, 365LL * 24 * 3600);
    if (!s.ok()) return s.status();
    r.set_grace_period_seconds(*s);
  }
  if (c.flags.Has("max-pods")) {
    absl::StatusOr<int32_t> n = c.flags.Int32("max-pods", 1);
    if (!n.ok()) return n.status();
    r.set_max_pods(*n);
  }
  *r.mutable_options() = c.cmd.mutation;
  c.cmd.action = Action::kKill;
  return absl::OkStatus();
}

absl::Status ParseCronJob(const VerbContext& c) {
  static const std::map<std::string, Action> kActions = {{"run", Action::kCronJobRun},
                                                         {"suspend", Action::kCronJobSuspend},
                                                         {"resume", Action::kCronJobResume},
                                                         {"kill", Action::kCronJobKill}};
  if (c.args.empty()) return UsageError(c.spec.name, "say what to do: run, suspend, resume or kill");
  auto it = kActions.find(c.args[0]);
  if (it == kActions.end()) {
    return UsageError(c.spec.name, absl::StrCat("unknown action \"", c.args[0], "\"; expected run, suspend, resume or kill"));
  }
  if (c.args.size() < 2) return UsageError(c.spec.name, "name the CronJob");
  absl::StatusOr<Ref> ref =
      ParseRef(c.spec.name, c.args[1], c.cmd.global.namespace_name, {Kind::kCronJob}, Kind::kCronJob);
  if (!ref.ok()) return ref.status();
  if (absl::Status s = TooManyArgs(c.spec.name, c.args, 2); !s.ok()) return s;
  c.cmd.cronjob.set_cronjob(ref->Resource());
  *c.cmd.cronjob.mutable_options() = c.cmd.mutation;
  c.cmd.action = it->second;
  return absl::OkStatus();
}

absl::Status ParseGet(const VerbContext& c) {
  const std::vector<Kind> kinds = {Kind::kDeployment, Kind::kStatefulSet, Kind::kCronJob};
  if (c.args.empty()) return UsageError(c.spec.name, "name the workload (deploy/NAME, sts/NAME or cj/NAME)");
  std::string arg = c.args[0];
  size_t used = 1;
  // kubectl's two-word form: get deploy web.
  if (!absl::StrContains(arg, '/') && c.args.size() >= 2 && FindKind(arg) != nullptr) {
    arg = absl::StrCat(arg, "/", c.args[1]);
    used = 2;
  }
  absl::StatusOr<Ref> ref = ParseRef(c.spec.name, arg, c.cmd.global.namespace_name, kinds);
  if (!ref.ok()) return ref.status();
  if (absl::Status s = TooManyArgs(c.spec.name, c.args, used); !s.ok()) return s;
  c.cmd.get.set_name(ref->Resource());
  c.cmd.action = Action::kGet;
  return absl::OkStatus();
}

absl::Status ParseList(const VerbContext& c) {
  v1::ListWorkloadsRequest& r = c.cmd.list;
  if (!c.args.empty()) {
    const KindInfo* kind = FindKind(c.args[0]);
    if (kind == nullptr || kind->kind == Kind::kPod) {
      return UsageError(c.spec.name, absl::StrCat("unknown kind \"", c.args[0], "\"; expected deploy, sts or cj"));
    }
    r.set_kind(kind->plural);
  }
  if (absl::Status s = TooManyArgs(c.spec.name, c.args, 1); !s.ok()) return s;
  if (!c.cmd.global.all_namespaces) r.set_namespace_(c.cmd.global.namespace_name);
  if (c.flags.Has("selector")) {
    if (absl::Status s = CheckSelector(c.spec.name, c.flags.String("selector")); !s.ok()) return s;
    r.set_label_selector(c.flags.String("selector"));
  }
  c.cmd.action = Action::kList;
  return absl::OkStatus();
}

absl::Status ParseStates(const FlagReader& flags, v1::ListOperationsRequest& r) {
  for (absl::string_view word : absl::StrSplit(flags.String("state"), ',', absl::SkipWhitespace())) {
    std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(word));
    if (s == "active") {
      r.add_states(v1::OPERATION_STATE_PENDING);
      r.add_states(v1::OPERATION_STATE_RUNNING);
      r.add_states(v1::OPERATION_STATE_PENDING_APPROVAL);
      continue;
    }
    absl::StrReplaceAll({{"-", "_"}}, &s);
    v1::OperationState state;
    if (!v1::OperationState_Parse(absl::StrCat("OPERATION_STATE_", absl::AsciiStrToUpper(s)), &state) ||
        state == v1::OPERATION_STATE_UNSPECIFIED) {
      return flags.Error("state", absl::StrCat("unknown state \"", word,
                                               "\"; expected pending, running, succeeded, failed, cancelled, "
                                               "rolled-back, pending-approval or active"));
    }
    r.add_states(state);
  }
  if (r.states().empty()) return flags.Error("state", "name at least one state");
  return absl::OkStatus();
}

absl::Status ParseOps(const VerbContext& c) {
  static const std::map<std::string, Action> kSub = {{"get", Action::kOpsGet},
                                                     {"list", Action::kOpsList},
                                                     {"ls", Action::kOpsList},
                                                     {"watch", Action::kOpsWatch},
                                                     {"cancel", Action::kOpsCancel},
                                                     {"approve", Action::kOpsApprove},
                                                     {"reject", Action::kOpsReject}};
  if (c.args.empty()) return UsageError(c.spec.name, "say what to do: get, list, watch, cancel, approve or reject");
  auto it = kSub.find(c.args[0]);
  if (it == kSub.end()) {
    return UsageError(c.spec.name, absl::StrCat("unknown action \"", c.args[0],
                                                "\"; expected get, list, watch, cancel, approve or reject"));
  }
  const Action action = it->second;
  const std::string sub = c.args[0] == "ls" ? "list" : c.args[0];
  // Flags of one `ops` action are not accepted by the others.
  const std::map<std::string, std::set<std::string>> kSubFlags = {
      {"list", {"all-namespaces", "state", "limit"}},
      {"cancel", {"reason", "wait"}},
      {"approve", {"reason", "wait"}},
      {"reject", {"reason"}},
      {"get", {}},
      {"watch", {}}};
  for (const char* f : {"all-namespaces", "state", "limit", "reason", "wait"}) {
    if (c.flags.Has(f) && kSubFlags.at(sub).count(f) == 0) {
      return UsageError(c.spec.name, absl::StrCat("flag ", FlagSpelling(*FindFlag(f)), " does not apply to ops ", sub));
    }
  }
  if (action == Action::kOpsList) {
    v1::ListOperationsRequest& r = c.cmd.ops_list;
    if (c.args.size() >= 2) {
      absl::StatusOr<Ref> ref = ParseRef(c.spec.name, c.args[1], c.cmd.global.namespace_name,
                                         {Kind::kDeployment, Kind::kStatefulSet, Kind::kCronJob});
      if (!ref.ok()) return ref.status();
      r.set_target(ref->Resource());
    }
    if (absl::Status s = TooManyArgs(c.spec.name, c.args, 2); !s.ok()) return s;
    if (!c.cmd.global.all_namespaces) r.set_namespace_(c.cmd.global.namespace_name);
    if (c.flags.Has("state")) {
      if (absl::Status s = ParseStates(c.flags, r); !s.ok()) return s;
    }
    if (c.flags.Has("limit")) {
      absl::StatusOr<int32_t> n = c.flags.Int32("limit", 1);
      if (!n.ok()) return n.status();
      c.cmd.ops_limit = *n;
    }
    c.cmd.action = action;
    return absl::OkStatus();
  }
  if (c.args.size() < 2) return UsageError(c.spec.name, absl::StrCat("ops ", sub, " needs an operation ID"));
  if (absl::Status s = CheckOperationId(c.spec.name, c.args[1]); !s.ok()) return s;
  if (absl::Status s = TooManyArgs(c.spec.name, c.args, 2); !s.ok()) return s;
  c.cmd.operation = NormalizeOperation(c.args[1]);
  if (action == Action::kOpsCancel) {
    c.cmd.cancel.set_name(c.cmd.operation);
    c.cmd.cancel.set_reason(c.flags.String("reason"));
    c.cmd.wait = c.flags.Bool("wait");
  } else if (action == Action::kOpsApprove) {
    c.cmd.approve.set_name(c.cmd.operation);
    c.cmd.approve.set_reason(c.flags.String("reason"));
    c.cmd.wait = c.flags.Bool("wait");
  } else if (action == Action::kOpsReject) {
    c.cmd.reject.set_name(c.cmd.operation);
    c.cmd.reject.set_reason(c.flags.String("reason"));
  }
  c.cmd.action = action;
  return absl::OkStatus();
}

// `policy create`'s action: the command line after `--`, parsed as herdctl
// parses that verb, in the namespace of the policy's command line.
absl::Status ParsePolicyAction(const VerbContext& c, const std::vector<std::string>& action, v1::Schedule& s) {
  if (action.empty()) {
    return UsageError(c.spec.name, "policy create needs its action after `--` (e.g. -- purge deploy/web)");
  }
  absl::StatusOr<Command> a = ParseCommandLine(action, c.cmd.global.namespace_name);
  if (!a.ok()) return UsageError(c.spec.name, absl::StrCat("the action: ", a.status().message()));
  if (a->wait || a->mutation.dry_run() || !a->mutation.request_id().empty()) {
    return UsageError(c.spec.name, "the action takes no --wait, --dry-run or --request-id: each run is a real "
                                   "operation of its own");
  }
  switch (a->action) {
    case Action::kPurge: *s.mutable_purge() = a->purge; return absl::OkStatus();
    case Action::kScale: *s.mutable_scale() = a->scale; return absl::OkStatus();
    case Action::kKill: *s.mutable_kill() = a->kill; return absl::OkStatus();
    case Action::kRollout:
      if (!a->rollout.restart() || !a->rollout.images().empty()) {
        return UsageError(c.spec.name, "a policy's rollout restarts: -- rollout deploy/NAME --restart (no images)");
      }
      *s.mutable_restart() = a->rollout;
      return absl::OkStatus();
    case Action::kCronJobRun:
    case Action::kCronJobSuspend:
    case Action::kCronJobResume:
    case Action::kCronJobKill: {
      const v1::OperationKind kind = a->action == Action::kCronJobRun       ? v1::OPERATION_KIND_CRONJOB_RUN
                                     : a->action == Action::kCronJobSuspend ? v1::OPERATION_KIND_CRONJOB_SUSPEND
                                     : a->action == Action::kCronJobResume  ? v1::OPERATION_KIND_CRONJOB_RESUME
                                                                            : v1::OPERATION_KIND_CRONJOB_KILL_JOBS;
      s.mutable_cronjob()->set_kind(kind);
      *s.mutable_cronjob()->mutable_request() = a->cronjob;
      return absl::OkStatus();
    }
    default:
      return UsageError(c.spec.name, "a policy's action is purge, scale, kill, rollout --restart or cronjob");
  }
}

absl::Status ParsePolicy(const VerbContext& c, const std::vector<std::string>& action) {
  static const std::map<std::string, Action> kSub = {
      {"create", Action::kPolicyCreate}, {"list", Action::kPolicyList},     {"ls", Action::kPolicyList},
      {"show", Action::kPolicyGet},      {"get", Action::kPolicyGet},       {"pause", Action::kPolicyPause},
      {"resume", Action::kPolicyResume}, {"delete", Action::kPolicyDelete}, {"rm", Action::kPolicyDelete}};
  if (c.args.empty()) return UsageError(c.spec.name, "say what to do: create, list, show, pause, resume or delete");
  auto it = kSub.find(c.args[0]);
  if (it == kSub.end()) {
    return UsageError(c.spec.name, absl::StrCat("unknown action \"", c.args[0],
                                                "\"; expected create, list, show, pause, resume or delete"));
  }
  const Action sub = it->second;
  const bool max_age = c.flags.Has("max-pod-age");
  const bool load = c.flags.Has("scale-on");
  if (max_age && load) return UsageError(c.spec.name, "give --max-pod-age or --scale-on, not both");
  const std::set<std::string> create_flags =
      max_age ? std::set<std::string>{"max-pod-age", "description", "paused", "reason"}
      : load  ? std::set<std::string>{"scale-on", "per-replica", "min", "max", "step-up", "step-down", "up-window",
                                     "down-window", "cooldown", "interval", "report-only", "description", "paused",
                                     "reason"}
              : std::set<std::string>{"cron", "time-zone", "late-window", "description", "paused"};
  for (const char* f : {"cron", "time-zone", "late-window", "max-pod-age", "scale-on", "per-replica", "min", "max",
                        "step-up", "step-down", "up-window", "down-window", "cooldown", "interval", "report-only",
                        "description", "paused", "reason"}) {
    if (!c.flags.Has(f)) continue;
    if (sub == Action::kPolicyCreate && (max_age || load) && create_flags.count(f) == 0) {
      return UsageError(c.spec.name, absl::StrCat("flag ", FlagSpelling(*FindFlag(f)), " does not apply to a policy of ",
                                                  max_age ? "--max-pod-age" : "--scale-on"));
    }
    const bool applies = sub == Action::kPolicyCreate ? create_flags.count(f) > 0
                                                      : (sub == Action::kPolicyPause || sub == Action::kPolicyResume) &&
                                                            std::string(f) == "reason";
    if (!applies) {
      return UsageError(c.spec.name, absl::StrCat("flag ", FlagSpelling(*FindFlag(f)), " does not apply to policy ",
                                                  c.args[0]));
    }
  }
  if (sub != Action::kPolicyCreate && !action.empty()) {
    return UsageError(c.spec.name, absl::StrCat("policy ", c.args[0], " takes nothing after `--`"));
  }
  c.cmd.action = sub;
  if (sub == Action::kPolicyList) return TooManyArgs(c.spec.name, c.args, 1);
  if (c.args.size() < 2) return UsageError(c.spec.name, absl::StrCat("policy ", c.args[0], " needs a policy ID"));
  if (absl::Status s = TooManyArgs(c.spec.name, c.args, sub == Action::kPolicyCreate && (max_age || load) ? 3 : 2);
      !s.ok()) {
    return s;
  }
  std::string id = c.args[1];
  if (absl::StartsWith(id, "policies/")) id = id.substr(9);
  c.cmd.policy = absl::StrCat("policies/", id);
  c.cmd.policy_reason = c.flags.String("reason");
  if (sub != Action::kPolicyCreate) return absl::OkStatus();

  v1::CreatePolicyRequest& r = c.cmd.policy_create;
  r.set_policy_id(id);
  r.mutable_policy()->set_description(c.flags.String("description"));
  r.mutable_policy()->set_paused(c.flags.Bool("paused"));
  if (max_age) {
    if (!action.empty()) return UsageError(c.spec.name, "a policy of --max-pod-age takes no action after `--`");
    if (c.args.size() < 3) return UsageError(c.spec.name, "a policy of --max-pod-age names its workload (deploy/NAME or sts/NAME)");
    absl::StatusOr<Ref> ref = ParseRef(c.spec.name, c.args[2], c.cmd.global.namespace_name, kDeployOrSts);
    if (!ref.ok()) return ref.status();
    absl::StatusOr<absl::Duration> d = c.flags.Duration("max-pod-age", /*allow_zero=*/false);
    if (!d.ok()) return d.status();
    v1::MaxPodAge& m = *r.mutable_policy()->mutable_max_pod_age();
    m.set_workload(ref->Resource());
    SetDuration(*d, m.mutable_max_age());
    m.set_reason(c.cmd.policy_reason);
    return absl::OkStatus();
  }
  if (load) {
    if (!action.empty()) return UsageError(c.spec.name, "a policy of --scale-on takes no action after `--`");
    if (c.args.size() < 3) return UsageError(c.spec.name, "a policy of --scale-on names its workload (deploy/NAME or sts/NAME)");
    absl::StatusOr<Ref> ref = ParseRef(c.spec.name, c.args[2], c.cmd.global.namespace_name, kDeployOrSts);
    if (!ref.ok()) return ref.status();
    v1::LoadScaling& l = *r.mutable_policy()->mutable_load_scaling();
    l.set_workload(ref->Resource());
    l.set_query(c.flags.String("scale-on"));
    if (!c.flags.Has("per-replica")) return UsageError(c.spec.name, "a policy of --scale-on needs --per-replica");
    double per = 0;
    if (!absl::SimpleAtod(c.flags.String("per-replica"), &per) || !(per > 0) || !std::isfinite(per)) {
      return c.flags.Error("per-replica", absl::StrCat("expected a number above 0, got \"", c.flags.String("per-replica"), "\""));
    }
    l.set_target_per_replica(per);
    if (!c.flags.Has("max")) return UsageError(c.spec.name, "a policy of --scale-on needs --max");
    for (const char* f : {"min", "max", "step-up", "step-down"}) {
      if (!c.flags.Has(f)) continue;
      absl::StatusOr<int32_t> n = c.flags.Int32(f, std::string(f) == "max" ? 1 : 0);
      if (!n.ok()) return n.status();
      const std::string name = f;
      if (name == "min") l.set_min_replicas(*n);
      if (name == "max") l.set_max_replicas(*n);
      if (name == "step-up") l.set_max_step_up(*n);
      if (name == "step-down") l.set_max_step_down(*n);
    }
    for (const char* f : {"up-window", "down-window", "cooldown", "interval"}) {
      if (!c.flags.Has(f)) continue;
      absl::StatusOr<absl::Duration> d = c.flags.Duration(f, /*allow_zero=*/std::string(f) != "interval");
      if (!d.ok()) return d.status();
      const std::string name = f;
      SetDuration(*d, name == "up-window"     ? l.mutable_scale_up_stabilization()
                      : name == "down-window" ? l.mutable_scale_down_stabilization()
                      : name == "cooldown"    ? l.mutable_cooldown()
                                              : l.mutable_interval());
    }
    l.set_dry_run(c.flags.Bool("report-only"));
    l.set_reason(c.cmd.policy_reason);
    return absl::OkStatus();
  }
  if (!c.flags.Has("cron")) {
    return UsageError(c.spec.name, "policy create needs --cron (e.g. --cron=\"0 4 * * *\"), --max-pod-age or --scale-on");
  }
  v1::Schedule& s = *r.mutable_policy()->mutable_schedule();
  s.set_cron(c.flags.String("cron"));
  s.set_time_zone(c.flags.String("time-zone"));
  if (c.flags.Has("late-window")) {
    absl::StatusOr<absl::Duration> d = c.flags.Duration("late-window", /*allow_zero=*/false);
    if (!d.ok()) return d.status();
    SetDuration(*d, s.mutable_late_window());
  }
  return ParsePolicyAction(c, action, s);
}

absl::Status ParseGlobal(const FlagReader& flags, absl::string_view verb, absl::string_view default_namespace,
                         GlobalOptions& g) {
  client::ConnectionOptions& conn = g.connection;
  conn.server = flags.String("server");
  if (flags.Has("server") && conn.server.empty()) return flags.Error("server", "give HOST:PORT");
  conn.token = flags.String("token");
  conn.token_file = flags.String("token-file");
  conn.tls = flags.Bool("tls");
  conn.ca_file = flags.String("ca-file");
  conn.cert_file = flags.String("cert-file");
  conn.key_file = flags.String("key-file");
  conn.tls_server_name = flags.String("tls-server-name");
  if (conn.cert_file.empty() != conn.key_file.empty()) {
    return UsageError(verb, "--cert-file and --key-file go together (mTLS needs both)");
  }
  g.namespace_name = flags.Has("namespace") ? flags.String("namespace") : std::string(default_namespace);
  if (!IsDnsLabel(g.namespace_name)) {
    return flags.Has("namespace")
               ? flags.Error("namespace", absl::StrCat("\"", g.namespace_name, "\" is not a valid namespace name"))
               : UsageError(verb, absl::StrCat("the default namespace \"", g.namespace_name,
                                               "\" (HERD_NAMESPACE) is not a valid namespace name"));
  }
  g.all_namespaces = flags.Bool("all-namespaces");
  if (flags.Has("output")) {
    std::string o = absl::AsciiStrToLower(flags.String("output"));
    if (o == "table") {
      g.output = OutputFormat::kTable;
    } else if (o == "json") {
      g.output = OutputFormat::kJson;
    } else if (o == "yaml") {
      g.output = OutputFormat::kYaml;
    } else {
      return flags.Error("output", absl::StrCat("expected table, json or yaml, got \"", flags.String("output"), "\""));
    }
  }
  if (flags.Has("timeout")) {
    absl::StatusOr<absl::Duration> d = flags.Duration("timeout", /*allow_zero=*/false);
    if (!d.ok()) return d.status();
    conn.timeout = *d;
    g.timeout_set = true;
  }
  g.verbose = flags.Bool("verbose");
  return absl::OkStatus();
}

}  // namespace

std::string UsageLine(absl::string_view verb) {
  const VerbSpec* spec = FindVerb(verb);
  return spec == nullptr ? kOverallUsage : spec->usage;
}

std::string VerbHelp(absl::string_view verb) {
  const VerbSpec* spec = FindVerb(verb);
  if (spec == nullptr) return "";
  return absl::StrCat("herdctl ", spec->name, ": ", spec->summary, ".\n\nUsage:\n  ", spec->usage, "\n\n", spec->help,
                      spec->mutating ? kMutationFlagsHelp : "", kGlobalFlagsPointer);
}

std::string OverallHelp() {
  std::string verbs;
  for (const VerbSpec& v : Verbs()) absl::StrAppend(&verbs, "  ", absl::StrFormat("%-9s", v.name), v.summary, "\n");
  return absl::StrCat(R"(herdctl: roll out, scale, purge and kill Kubernetes workloads through herd.

Usage:
  )", kOverallUsage, R"(

Verbs:
)", verbs, R"(  help     this text, or a verb's: herdctl help VERB (or herdctl VERB --help)

Workloads are named as in kubectl: deploy/NAME (deployment/NAME), sts/NAME
(statefulset/NAME), cj/NAME (cronjob/NAME), in the namespace -n names. A full
resource name (namespaces/NS/deployments/NAME) works too.

The verbs that change something start an operation on the server and print
it at once; --wait follows it to its end. See `herdctl ops --help`.

Global flags (before or after the verb):
  --server=HOST:PORT      herd's gRPC address (env HERD_SERVER;
                          default 127.0.0.1:50051)
  --token=TOKEN           bearer token (env HERD_TOKEN)
  --token-file=FILE       read the token from FILE (env HERD_TOKEN_FILE)
  --tls                   use TLS, verifying the server with the system's CAs
  --ca-file=FILE          CA certificates (PEM) to verify the server with;
                          implies --tls (env HERD_CA_FILE)
  --cert-file=FILE, --key-file=FILE
                          client certificate and key (PEM) for mTLS; imply
                          --tls (env HERD_CERT_FILE, HERD_KEY_FILE)
  --tls-server-name=NAME  the name to expect in the server's certificate
  -n, --namespace=NS      namespace (env HERD_NAMESPACE; default "default")
  -o, --output=FORMAT     table (default), json or yaml; with --wait the
                          progress goes to stderr and the final operation to
                          stdout
  --timeout=DURATION      how long one request may take, retries included
                          (default 30s); when given, also the longest
                          --wait or ops watch (default: no limit)
  -v, --verbose           log retries and reconnects to stderr
  -h, --help              help

Durations are written 90s, 10m, 1h30m or 7d.

Exit codes:
  0  success
  1  the operation failed, was rolled back or was cancelled
  2  bad usage: unknown verb or flag, bad argument, unreadable token or
     certificate file
  3  the server is unreachable (UNAVAILABLE, or no answer in --timeout)
  4  the server refused (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED,
     UNAUTHENTICATED, FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS,
     RESOURCE_EXHAUSTED, OUT_OF_RANGE); its message is printed
  5  gave up waiting (--timeout) while the operation was still running; it
     goes on, and `herdctl ops watch ID` picks it up again
  6  any other error (INTERNAL, UNIMPLEMENTED, UNKNOWN, …)
Ctrl-C stops herdctl, never the operation.

Examples:
  # Push a new image and wait for it (exit 0 only if it succeeded)
  herdctl --server=herd.example:50051 -n shop rollout deploy/web web=registry.example/web:1.4.2 --wait

  # Ten replicas; then see the workload
  herdctl -n shop scale deploy/web --replicas=10 --wait
  herdctl -n shop get deploy/web

  # Replace pods older than a day, two at a time
  herdctl -n shop purge deploy/web --older-than=24h --batch-size=2

  # Kill a pod, and every pod of a selector
  herdctl -n shop kill web-7d4b9c-x2x9q
  herdctl -n shop kill -l app=web --max-pods=20

  # What is running now, everywhere?
  herdctl ops list -A --state=active
)");
}

std::string OperationId(absl::string_view name) {
  absl::ConsumePrefix(&name, "operations/");
  return std::string(name);
}

std::string NamespaceOf(absl::string_view resource) {
  std::vector<absl::string_view> parts = absl::StrSplit(resource, absl::MaxSplits('/', 2));
  if (parts.size() >= 2 && parts[0] == "namespaces") {
    absl::string_view ns = parts[1];
    return std::string(ns.substr(0, ns.find('?')));
  }
  return "";
}

namespace {

std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int hi = 0;
    int lo = 0;
    auto hex = [](char c, int* v) {
      if (absl::ascii_isdigit(c)) *v = c - '0';
      else if (c >= 'a' && c <= 'f') *v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') *v = c - 'A' + 10;
      else return false;
      return true;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1], &hi) && hex(s[i + 2], &lo)) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string ShortResourceName(absl::string_view resource, bool with_namespace) {
  absl::string_view path = resource;
  absl::string_view query;
  if (size_t q = resource.find('?'); q != absl::string_view::npos) {
    path = resource.substr(0, q);
    query = resource.substr(q + 1);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() < 3 || parts[0] != "namespaces") return std::string(resource);
  const std::string ns_prefix = with_namespace ? absl::StrCat(parts[1], "/") : "";
  const KindInfo* kind = FindKind(parts[2]);
  if (parts.size() == 4 && kind != nullptr) return absl::StrCat(ns_prefix, kind->short_name, "/", parts[3]);
  if (parts.size() == 3 && parts[2] == "pods" && !query.empty()) {
    for (absl::string_view kv : absl::StrSplit(query, '&')) {
      if (absl::ConsumePrefix(&kv, "labelSelector=")) return absl::StrCat(ns_prefix, "pods -l ", PercentDecode(kv));
    }
  }
  return std::string(resource);
}

absl::StatusOr<Command> ParseCommandLine(const std::vector<std::string>& args, absl::string_view default_namespace) {
  Tokens tokens = Tokenize(args);
  // `policy create … -- ACTION…`: what follows `--` is a command line of
  // its own.
  std::vector<std::string> policy_action;
  if (!tokens.positionals.empty() && tokens.positionals.front() == "policy" &&
      tokens.before_dashes != std::string::npos && tokens.before_dashes > 0) {
    policy_action.assign(tokens.positionals.begin() + static_cast<long>(tokens.before_dashes), tokens.positionals.end());
    tokens.positionals.resize(tokens.before_dashes);
  }
  const std::string verb = tokens.positionals.empty() ? "" : tokens.positionals.front();
  const VerbSpec* spec = FindVerb(verb);
  FlagReader flags(verb, tokens);

  if (!tokens.error.empty()) return UsageError(verb, tokens.error);
  if (!verb.empty() && verb != "help" && spec == nullptr) {
    return UsageError("", absl::StrCat("unknown verb \"", verb, "\""));
  }

  Command cmd;
  if (flags.Bool("help") || verb == "help" || verb.empty()) {
    if (verb.empty() && !flags.Bool("help")) return UsageError("", "no verb given");
    cmd.action = Action::kHelp;
    if (verb == "help") {
      if (tokens.positionals.size() > 2) return UsageError("", "help takes at most one verb");
      if (tokens.positionals.size() == 2) {
        cmd.help_topic = tokens.positionals[1];
        if (FindVerb(cmd.help_topic) == nullptr) {
          return UsageError("", absl::StrCat("unknown verb \"", cmd.help_topic, "\""));
        }
      }
    } else {
      cmd.help_topic = verb;
    }
    return cmd;
  }

  // Flags of other verbs are refused by name, so that a typo'd verb line
  // does not silently drop what the user asked for.
  for (const std::string& name : tokens.order) {
    if (GlobalFlags().count(name) > 0) continue;
    const bool mutation_flag = name == "wait" || name == "dry-run" || name == "reason" || name == "request-id";
    if (mutation_flag && spec->mutating) continue;
    if (std::find(spec->flags.begin(), spec->flags.end(), name) != spec->flags.end()) continue;
    return UsageError(verb, absl::StrCat("flag ", FlagSpelling(*FindFlag(name)), " does not apply to ", verb));
  }

  if (absl::Status s = ParseGlobal(flags, verb, default_namespace, cmd.global); !s.ok()) return s;

  if (spec->mutating) {
    cmd.wait = flags.Bool("wait");
    cmd.mutation.set_dry_run(flags.Bool("dry-run"));
    cmd.mutation.set_reason(flags.String("reason"));
    if (flags.Has("request-id")) {
      std::string id = flags.String("request-id");
      if (id.empty() || id.size() > 128 ||
          std::any_of(id.begin(), id.end(), [](char c) { return c <= ' ' || c > '~'; })) {
        return flags.Error("request-id", "give 1 to 128 printable characters without spaces");
      }
      cmd.mutation.set_request_id(id);
    }
    if (cmd.wait && cmd.mutation.dry_run()) {
      return UsageError(verb, "--wait and --dry-run do not go together: a dry run starts nothing to wait for");
    }
  }

  const std::vector<std::string> rest(tokens.positionals.begin() + 1, tokens.positionals.end());
  VerbContext c{*spec, rest, flags, cmd};
  absl::Status s;
  const std::string name = spec->name;
  if (name == "rollout") {
    s = ParseRollout(c);
  } else if (name == "undo") {
    s = ParseUndo(c);
  } else if (name == "scale") {
    s = ParseScale(c);
  } else if (name == "purge") {
    s = ParsePurge(c);
  } else if (name == "kill") {
    s = ParseKill(c);
  } else if (name == "cronjob") {
    s = ParseCronJob(c);
  } else if (name == "get") {
    s = ParseGet(c);
  } else if (name == "list") {
    s = ParseList(c);
  } else if (name == "ops") {
    s = ParseOps(c);
  } else if (name == "policy") {
    s = ParsePolicy(c, policy_action);
  }
  if (!s.ok()) return s;
  return cmd;
}

}  // namespace herd::herdctl
