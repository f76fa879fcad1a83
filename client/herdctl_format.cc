#include "client/herdctl_format.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/k8s/time.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace herd::herdctl {
namespace {

// ---------------------------------------------------------------------------
// Time.

std::optional<absl::Time> TimeOf(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return std::nullopt;
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::Duration DurationOf(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::string Age(const google::protobuf::Timestamp& ts, absl::Time now) {
  std::optional<absl::Time> t = TimeOf(ts);
  return t ? k8s::HumanDuration(now - *t) : "-";
}

// "2026-11-25T10:44:58Z (5m ago)".
std::string WhenAgo(const google::protobuf::Timestamp& ts, absl::Time now) {
  std::optional<absl::Time> t = TimeOf(ts);
  if (!t) return "-";
  return absl::StrCat(k8s::FormatTime(*t), " (", k8s::HumanDuration(now - *t), " ago)");
}

// ---------------------------------------------------------------------------
// Tables: columns padded to the widest cell and three spaces apart, the last
// column unpadded, as kubectl prints them.

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.size() <= 1; }

  std::string Render(absl::string_view indent = "") const {
    std::vector<size_t> width;
    for (const auto& row : rows_) {
      if (width.size() < row.size()) width.resize(row.size(), 0);
      for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    std::string out;
    for (const auto& row : rows_) {
      std::string line(indent);
      for (size_t i = 0; i < row.size(); ++i) {
        absl::StrAppend(&line, row[i]);
        if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 3, ' ');
      }
      absl::StrAppend(&out, line, "\n");
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "Label:" padded so that values line up in a view.
void Field(std::string& out, absl::string_view label, absl::string_view value, int indent = 0) {
  const std::string head = absl::StrCat(label, ":");
  const size_t width = std::max<size_t>(static_cast<size_t>(14 - indent), head.size() + 1);
  absl::StrAppend(&out, std::string(static_cast<size_t>(indent), ' '), head, std::string(width - head.size(), ' '),
                  value, "\n");
}

std::string Dash(absl::string_view s) { return s.empty() ? "-" : std::string(s); }


// ---------------------------------------------------------------------------
// JSON and YAML.

// Drops google.protobuf.Any values whose type this binary does not know:
// the JSON printer refuses a whole document for one of them.
void DropUnknownAnys(google::protobuf::Message& message) {
  const google::protobuf::Reflection* refl = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  refl->ListFields(message, &fields);
  auto known = [](const google::protobuf::Message& any) {
    const auto& a = static_cast<const google::protobuf::Any&>(any);
    absl::string_view url = a.type_url();
    absl::string_view type = url.substr(url.rfind('/') + 1);
    return google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string(type)) != nullptr;
  };
  for (const google::protobuf::FieldDescriptor* f : fields) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const bool is_any = f->message_type()->full_name() == "google.protobuf.Any";
    if (f->is_repeated()) {
      if (is_any) {
        // Keep the known ones, in order, at the front; then cut the rest.
        int kept = 0;
        for (int i = 0; i < refl->FieldSize(message, f); ++i) {
          if (known(refl->GetRepeatedMessage(message, f, i))) refl->SwapElements(&message, f, i, kept++);
        }
        while (refl->FieldSize(message, f) > kept) refl->RemoveLast(&message, f);
      } else if (!f->is_map()) {
        for (int i = 0; i < refl->FieldSize(message, f); ++i) {
          DropUnknownAnys(*refl->MutableRepeatedMessage(&message, f, i));
        }
      }
    } else if (is_any) {
      if (!known(refl->GetMessage(message, f))) refl->ClearField(&message, f);
    } else {
      DropUnknownAnys(*refl->MutableMessage(&message, f));
    }
  }
}

bool NeedsQuotes(absl::string_view s) {
  if (s.empty()) return true;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return true;
  // Indicators that mean something at the start of a plain scalar.
  if (absl::StrContains("-?:,[]{}#&*!|>'\"%@`~", s.front())) return true;
  // What starts like a number could read as one (or as an octal, a float,
  // a sexagesimal, a timestamp): quote it unless it is plainly prose, and
  // quote dates even then ("2027-01-15 08:00:00" is a YAML timestamp).
  if (absl::StrContains("+.0123456789", s.front())) {
    const bool date = s.size() >= 10 && absl::ascii_isdigit(s[0]) && absl::ascii_isdigit(s[3]) && s[4] == '-' &&
                      absl::ascii_isdigit(s[5]) && s[7] == '-' && absl::ascii_isdigit(s[8]);
    if (date || !absl::StrContains(s, ' ')) return true;
  }
  if (absl::StrContains(s, ": ") || absl::StrContains(s, " #")) return true;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  static const char* const kWords[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf"};
  std::string lower = absl::AsciiStrToLower(s);
  for (const char* w : kWords) {
    if (lower == w) return true;
  }
  return false;
}

std::string YamlScalar(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    // A JSON string literal is also a valid YAML double-quoted scalar.
    return NeedsQuotes(s) ? nlohmann::json(s).dump() : s;
  }
  return v.dump();
}

bool IsCollection(const nlohmann::json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void EmitYaml(const nlohmann::json& v, int indent, std::string& out);

// A sequence item: "- " takes the place of the item's first indentation.
void EmitItem(const nlohmann::json& item, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (!IsCollection(item)) {
    absl::StrAppend(&out, pad, "- ", item.is_object() ? "{}" : item.is_array() ? "[]" : YamlScalar(item), "\n");
    return;
  }
  std::string inner;
  EmitYaml(item, indent + 2, inner);
  absl::StrAppend(&out, pad, "- ", absl::string_view(inner).substr(static_cast<size_t>(indent) + 2));
}

void EmitYaml(const nlohmann::json& v, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      const nlohmann::json& child = it.value();
      absl::StrAppend(&out, pad, NeedsQuotes(it.key()) ? nlohmann::json(it.key()).dump() : it.key(), ":");
      if (child.is_object() && !child.empty()) {
        out += "\n";
        EmitYaml(child, indent + 2, out);
      } else if (child.is_array() && !child.empty()) {
        out += "\n";
        EmitYaml(child, indent, out);  // kubectl's style: items at the key's indentation
      } else {
        absl::StrAppend(&out, " ", child.is_object() ? "{}" : child.is_array() ? "[]" : YamlScalar(child), "\n");
      }
    }
  } else if (v.is_array()) {
    for (const nlohmann::json& item : v) EmitItem(item, indent, out);
  } else {
    absl::StrAppend(&out, pad, YamlScalar(v), "\n");
  }
}

// ---------------------------------------------------------------------------
// Operations.

std::string Target(const v1::Operation& op, bool with_namespace = false) {
  return ShortResourceName(op.target(), with_namespace);
}

// The counter of what is done for the PROGRESS column: new pods ready
// (rollouts, undo, purges, scales), pods killed; nullopt for kinds without
// one.
std::optional<int32_t> MainCounter(const v1::Operation& op) {
  const v1::Progress& p = op.progress();
  switch (op.kind()) {
    case v1::OPERATION_KIND_ROLLOUT:
    case v1::OPERATION_KIND_UNDO:
    case v1::OPERATION_KIND_PURGE:
    case v1::OPERATION_KIND_SCALE:
      return p.ready();
    case v1::OPERATION_KIND_KILL:
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS:
      return p.killed();
    default:
      return std::nullopt;
  }
}

std::string ProgressColumn(const v1::Operation& op) {
  std::optional<int32_t> done = MainCounter(op);
  if (!done || op.progress().desired() == 0) return "-";
  return absl::StrCat(*done, "/", op.progress().desired());
}

std::optional<absl::Duration> Took(const v1::Operation& op) {
  std::optional<absl::Time> start = TimeOf(op.create_time());
  std::optional<absl::Time> end = TimeOf(op.end_time());
  if (!start || !end) return std::nullopt;
  return *end - *start;
}

std::string FailureReasonName(v1::FailureReason r) {
  switch (r) {
    case v1::FAILURE_REASON_IMAGE_PULL_BACK_OFF: return "ImagePullBackOff";
    case v1::FAILURE_REASON_CRASH_LOOP_BACK_OFF: return "CrashLoopBackOff";
    case v1::FAILURE_REASON_UNSCHEDULABLE: return "Unschedulable";
    case v1::FAILURE_REASON_READINESS_FAILING: return "ReadinessFailing";
    case v1::FAILURE_REASON_DEADLINE_EXCEEDED: return "DeadlineExceeded";
    case v1::FAILURE_REASON_DISRUPTION_BUDGET: return "DisruptionBudget";
    case v1::FAILURE_REASON_CONFLICT: return "Conflict";
    case v1::FAILURE_REASON_API_ERROR: return "ApiError";
    case v1::FAILURE_REASON_CANCELLED: return "Cancelled";
    case v1::FAILURE_REASON_NOT_FOUND: return "NotFound";
    default: return "";
  }
}

std::string StatusCodeName(int32_t code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string FormatPlan(const v1::Operation& op) {
  const v1::Plan& plan = op.plan();
  std::string out = "Plan (dry run, nothing was changed):\n";
  if (!plan.summary().empty()) absl::StrAppend(&out, "  ", plan.summary(), "\n");
  if (plan.has_estimated_duration()) {
    Field(out, "Estimated", ShortDuration(DurationOf(plan.estimated_duration())), 2);
  }
  if (!plan.changes().empty()) {
    out += "  Changes:\n";
    for (const std::string& c : plan.changes()) absl::StrAppend(&out, "    ", c, "\n");
  }
  if (!plan.pods().empty()) {
    out += "  Pods:\n";
    Table t({"POD", "ACTION", "VERDICT"});
    for (const auto& p : plan.pods()) t.Add({p.pod(), p.action(), Dash(p.verdict())});
    out += t.Render("    ");
  }
  if (!plan.budgets().empty()) {
    out += "  Disruption budgets:\n";
    Table t({"BUDGET", "ALLOWED", "NEEDED", "BLOCKS"});
    for (const auto& b : plan.budgets()) {
      t.Add({b.budget(), absl::StrCat(b.disruptions_allowed()), absl::StrCat(b.disruptions_needed()),
             b.blocks() ? "yes" : "no"});
    }
    out += t.Render("    ");
  }
  if (!plan.permissions().empty()) {
    // As kubectl auth can-i names them: VERB RESOURCE[/SUB].GROUP.
    out += "  Kubernetes permissions it writes with:\n";
    Table t({"VERB", "RESOURCE", "NAMESPACE", "NAME"});
    for (const auto& p : plan.permissions()) {
      t.Add({p.verb(),
             absl::StrCat(p.resource(), p.subresource().empty() ? "" : "/", p.subresource(), p.group().empty() ? "" : ".",
                          p.group()),
             Dash(p.namespace_()), p.name().empty() ? "(any)" : p.name()});
    }
    out += t.Render("    ");
  }
  return out;
}

// ---------------------------------------------------------------------------
// Workloads.

std::string ShortName(absl::string_view name) {
  size_t slash = name.rfind('/');
  return std::string(slash == absl::string_view::npos ? name : name.substr(slash + 1));
}

std::string Images(const v1::Workload& w) {
  std::vector<std::string> images;
  for (const v1::Container& c : w.containers()) images.push_back(c.image());
  return Dash(absl::StrJoin(images, ","));
}

bool IsCronJob(const v1::Workload& w) { return w.kind() == "CronJob"; }

std::string PodStatus(const v1::PodSummary& p) {
  if (p.terminating()) return "Terminating";
  if (!p.reason().empty()) return p.reason();
  return Dash(p.phase());
}

}  // namespace

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  std::unique_ptr<google::protobuf::Message> copy(message.New());
  copy->CopyFrom(message);
  DropUnknownAnys(*copy);
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(*copy, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print as JSON: ", std::string(status.message())));
  }
  return json;
}

absl::StatusOr<std::string> JsonToYaml(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("cannot print as YAML: the JSON does not parse");
  std::string out;
  if (IsCollection(doc)) {
    EmitYaml(doc, 0, out);
  } else {
    absl::StrAppend(&out, doc.is_object() ? "{}" : doc.is_array() ? "[]" : YamlScalar(doc), "\n");
  }
  return out;
}

absl::StatusOr<std::string> FormatMessage(const google::protobuf::Message& message, OutputFormat format) {
  absl::StatusOr<std::string> json = ToJson(message);
  if (!json.ok()) return json.status();
  if (format == OutputFormat::kYaml) return JsonToYaml(*json);
  if (json->empty() || json->back() != '\n') json->push_back('\n');
  return json;
}

std::string KindName(v1::OperationKind kind) {
  switch (kind) {
    case v1::OPERATION_KIND_ROLLOUT: return "rollout";
    case v1::OPERATION_KIND_UNDO: return "undo";
    case v1::OPERATION_KIND_SCALE: return "scale";
    case v1::OPERATION_KIND_PURGE: return "purge";
    case v1::OPERATION_KIND_KILL: return "kill";
    case v1::OPERATION_KIND_CRONJOB_RUN: return "cronjob-run";
    case v1::OPERATION_KIND_CRONJOB_SUSPEND: return "cronjob-suspend";
    case v1::OPERATION_KIND_CRONJOB_RESUME: return "cronjob-resume";
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS: return "cronjob-kill";
    default: return "operation";
  }
}

std::string StateName(v1::OperationState state) {
  switch (state) {
    case v1::OPERATION_STATE_PENDING: return "Pending";
    case v1::OPERATION_STATE_RUNNING: return "Running";
    case v1::OPERATION_STATE_SUCCEEDED: return "Succeeded";
    case v1::OPERATION_STATE_FAILED: return "Failed";
    case v1::OPERATION_STATE_CANCELLED: return "Cancelled";
    case v1::OPERATION_STATE_ROLLED_BACK: return "RolledBack";
    case v1::OPERATION_STATE_PENDING_APPROVAL: return "PendingApproval";
    default: return "Unknown";
  }
}

std::string ShortDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  if (d < absl::Seconds(1)) return absl::StrCat(absl::ToInt64Milliseconds(d), "ms");
  if (d < absl::Minutes(1)) return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
  const int64_t s = absl::ToInt64Seconds(d);
  if (d < absl::Hours(1)) return absl::StrCat(s / 60, "m", s % 60, "s");
  if (d < absl::Hours(24)) return absl::StrCat(s / 3600, "h", (s % 3600) / 60, "m");
  return absl::StrCat(s / 86400, "d", (s % 86400) / 3600, "h");
}

std::string ProgressText(const v1::Operation& op) {
  const v1::Progress& p = op.progress();
  std::vector<std::string> parts;
  switch (op.kind()) {
    case v1::OPERATION_KIND_ROLLOUT:
    case v1::OPERATION_KIND_UNDO:
      parts = {absl::StrCat("updated ", p.updated(), "/", p.desired()), absl::StrCat("ready ", p.ready()),
               absl::StrCat("available ", p.available())};
      break;
    case v1::OPERATION_KIND_PURGE:
      parts = {absl::StrCat("replacements ready ", p.ready(), "/", p.desired()),
               absl::StrCat("old pods left ", p.remaining())};
      break;
    case v1::OPERATION_KIND_SCALE:
      parts = {absl::StrCat("ready ", p.ready(), "/", p.desired()), absl::StrCat("available ", p.available())};
      break;
    case v1::OPERATION_KIND_KILL:
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS:
      parts = {absl::StrCat("killed ", p.killed(), "/", p.desired())};
      break;
    default:
      break;
  }
  if (p.remaining() > 0) {
    const bool killing = op.kind() == v1::OPERATION_KIND_KILL || op.kind() == v1::OPERATION_KIND_CRONJOB_KILL_JOBS;
    parts.push_back(absl::StrCat(killing ? "left " : "old pods left ", p.remaining()));
  }
  return absl::StrJoin(parts, ", ");
}

std::optional<double> ProgressFraction(const v1::Operation& op) {
  const v1::Progress& p = op.progress();
  const double desired = p.desired();
  if (desired <= 0) return std::nullopt;
  auto part = [desired](double x) { return std::clamp(x / desired, 0.0, 1.0); };
  switch (op.kind()) {
    case v1::OPERATION_KIND_ROLLOUT:
    case v1::OPERATION_KIND_UNDO:
    case v1::OPERATION_KIND_PURGE:
      // Half for the new pods Ready, half for the old ones gone: a
      // rollout whose pods were created but are not ready is not done.
      return (part(p.ready()) + part(desired - p.remaining())) / 2;
    case v1::OPERATION_KIND_SCALE:
      return part(p.ready());
    case v1::OPERATION_KIND_KILL:
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS:
      return part(p.killed());
    default:
      return std::nullopt;
  }
}

std::string FormatStarted(const v1::Operation& op) {
  if (op.state() == v1::OPERATION_STATE_PENDING_APPROVAL) {
    return absl::StrCat(op.name(), ": ", KindName(op.kind()), " of ", Target(op), " waits for approval by one of ",
                        absl::StrJoin(op.approval().approvers(), ", "), " (until ",
                        FormatApprovalTime(op.approval().deadline()), ")");
  }
  return absl::StrCat(op.name(), ": ", KindName(op.kind()), " of ", Target(op), " started (", StateName(op.state()),
                      ")");
}

std::string FormatApprovalTime(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

std::string FormatApproval(const v1::Operation& op) {
  if (!op.has_approval()) return "";
  const v1::Approval& a = op.approval();
  const std::string comment = a.comment().empty() ? "" : absl::StrCat(": ", a.comment());
  switch (a.decision()) {
    case v1::APPROVAL_DECISION_APPROVED: return absl::StrCat("approved by ", a.decided_by(), comment);
    case v1::APPROVAL_DECISION_REJECTED: return absl::StrCat("rejected by ", a.decided_by(), comment);
    case v1::APPROVAL_DECISION_EXPIRED:
      return absl::StrCat("expired at ", FormatApprovalTime(a.deadline()), " (nobody decided)");
    default:
      if (op.state() != v1::OPERATION_STATE_PENDING_APPROVAL) {
        return absl::StrCat("withdrawn", a.decided_by().empty() ? "" : absl::StrCat(" by ", a.decided_by()),
                            " before anyone decided", comment);
      }
      return absl::StrCat("waits for one of ", absl::StrJoin(a.approvers(), ", "), " until ",
                          FormatApprovalTime(a.deadline()));
  }
}

std::string FormatOutcome(const v1::Operation& op) {
  const std::string what = absl::StrCat(KindName(op.kind()), " of ", Target(op));
  std::optional<absl::Duration> took = Took(op);
  const std::string after = took ? absl::StrCat(" after ", ShortDuration(*took)) : "";
  std::string error = op.error().message();
  if (error.empty()) error = FailureReasonName(op.failure().reason());
  const std::string why = error.empty() ? "" : absl::StrCat(": ", error);
  switch (op.state()) {
    case v1::OPERATION_STATE_SUCCEEDED: {
      std::string line = absl::StrCat(what, " succeeded");
      if (took) absl::StrAppend(&line, " in ", ShortDuration(*took));
      if (op.revision() > 0) absl::StrAppend(&line, " (revision ", op.revision(), ")");
      return line;
    }
    case v1::OPERATION_STATE_FAILED:
      return absl::StrCat(what, " failed", after, why);
    case v1::OPERATION_STATE_ROLLED_BACK:
      return absl::StrCat(what, " failed and was rolled back", after, why);
    case v1::OPERATION_STATE_CANCELLED:
      return absl::StrCat(what, " was cancelled", after, why);
    default:
      return absl::StrCat(what, " is ", StateName(op.state()));
  }
}

std::string FormatFailure(const v1::Operation& op) {
  std::string out;
  if (op.has_error() && op.error().code() != 0) {
    Field(out, "Error", absl::StrCat(StatusCodeName(op.error().code()), ": ", op.error().message()));
  }
  const v1::Failure& f = op.failure();
  if (f.reason() != v1::FAILURE_REASON_UNSPECIFIED) Field(out, "Failure", FailureReasonName(f.reason()));
  if (!f.budget().empty()) Field(out, "Budget", f.budget());
  if (!f.pods().empty()) {
    out += "Pod problems:\n";
    Table t({"POD", "CONTAINER", "REASON", "RESTARTS", "MESSAGE"});
    for (const v1::PodProblem& p : f.pods()) {
      t.Add({p.pod(), Dash(p.container()), Dash(p.reason()), absl::StrCat(p.restarts()), Dash(p.message())});
    }
    out += t.Render("  ");
    for (const v1::PodProblem& p : f.pods()) {
      if (p.log_tail().empty()) continue;
      absl::StrAppend(&out, "Last log lines of ", p.pod(), p.container().empty() ? "" : "/" + p.container(),
                      " before it exited:\n");
      for (const std::string& line : p.log_tail()) absl::StrAppend(&out, "  | ", line, "\n");
    }
  }
  return out;
}

absl::StatusOr<std::string> FormatOperation(const v1::Operation& op, OutputFormat format, absl::Time now) {
  if (format != OutputFormat::kTable) return FormatMessage(op, format);
  std::string out;
  Field(out, "Operation", op.name());
  Field(out, "Kind", KindName(op.kind()));
  Field(out, "Target", op.target());
  Field(out, "State", op.dry_run() ? absl::StrCat(StateName(op.state()), " (dry run)") : StateName(op.state()));
  if (std::string progress = ProgressText(op); !progress.empty() && !op.dry_run()) Field(out, "Progress", progress);
  if (op.revision() > 0) Field(out, "Revision", absl::StrCat(op.revision()));
  if (!op.principal().empty()) Field(out, "Requested by", op.principal());
  if (!op.reason().empty()) Field(out, "Reason", op.reason());
  if (!op.request_id().empty()) Field(out, "Request ID", op.request_id());
  if (op.has_approval()) Field(out, "Approval", absl::StrCat(FormatApproval(op), " (rule ", op.approval().rule(), ")"));
  Field(out, "Created", WhenAgo(op.create_time(), now));
  if (TimeOf(op.end_time())) {
    std::optional<absl::Duration> took = Took(op);
    Field(out, "Ended", took ? absl::StrCat(WhenAgo(op.end_time(), now), ", took ", ShortDuration(*took))
                             : WhenAgo(op.end_time(), now));
  } else if (TimeOf(op.update_time())) {
    Field(out, "Updated", WhenAgo(op.update_time(), now));
  }
  out += FormatFailure(op);
  if (!op.timings().empty()) {
    out += "Timings:\n";
    Table t({"PHASE", "DURATION"});
    for (const v1::Timing& tm : op.timings()) t.Add({tm.phase(), ShortDuration(DurationOf(tm.duration()))});
    out += t.Render("  ");
  }
  if (!op.events().empty()) {
    out += "Events:\n";
    Table t({"AT", "MESSAGE"});
    std::optional<absl::Time> start = TimeOf(op.create_time());
    for (const v1::OperationEvent& e : op.events()) {
      std::optional<absl::Time> at = TimeOf(e.time());
      // Events before the start (asked for, approved) count back from it.
      std::string when = "-";
      if (at && start) when = *at < *start ? absl::StrCat("-", ShortDuration(*start - *at)) : absl::StrCat("+", ShortDuration(*at - *start));
      t.Add({when, e.message()});
    }
    out += t.Render("  ");
  }
  if (op.dry_run() || op.has_plan()) out += FormatPlan(op);
  return out;
}

absl::StatusOr<std::string> FormatOperationList(const v1::ListOperationsResponse& ops, OutputFormat format,
                                                absl::Time now, bool all_namespaces) {
  if (format != OutputFormat::kTable) return FormatMessage(ops, format);
  if (ops.operations().empty()) return std::string();
  std::vector<std::string> header = {"NAME", "KIND", "TARGET", "STATE", "PROGRESS", "AGE"};
  if (all_namespaces) header.insert(header.begin(), "NAMESPACE");
  Table t(header);
  for (const v1::Operation& op : ops.operations()) {
    std::vector<std::string> row = {OperationId(op.name()), KindName(op.kind()), Target(op),
                                    StateName(op.state()) + (op.dry_run() ? " (dry run)" : ""), ProgressColumn(op),
                                    Age(op.create_time(), now)};
    if (all_namespaces) row.insert(row.begin(), Dash(NamespaceOf(op.target())));
    t.Add(std::move(row));
  }
  return t.Render();
}

absl::StatusOr<std::string> FormatWorkload(const v1::Workload& w, OutputFormat format, absl::Time now) {
  if (format != OutputFormat::kTable) return FormatMessage(w, format);
  std::string out;
  Field(out, "Name", ShortName(w.name()));
  Field(out, "Namespace", w.namespace_());
  Field(out, "Kind", w.kind());
  if (IsCronJob(w)) {
    Field(out, "Schedule", Dash(w.schedule()));
    Field(out, "Suspended", w.suspended() ? "yes" : "no");
    Field(out, "Last run", WhenAgo(w.last_schedule_time(), now));
    Field(out, "Active jobs", absl::StrCat(w.active_jobs()));
  } else {
    Field(out, "Replicas",
          absl::StrFormat("%d desired | %d updated | %d ready | %d available", w.desired_replicas(),
                          w.updated_replicas(), w.ready_replicas(), w.available_replicas()));
    if (w.revision() > 0) Field(out, "Revision", absl::StrCat(w.revision()));
  }
  if (!w.containers().empty()) {
    out += "Containers:\n";
    Table t({"NAME", "IMAGE"});
    for (const v1::Container& c : w.containers()) t.Add({c.name(), c.image()});
    out += t.Render("  ");
  }
  if (!w.autoscaler().empty()) {
    Field(out, "Autoscaler", absl::StrFormat("%s (min %d, max %d)", w.autoscaler(), w.autoscaler_min(),
                                             w.autoscaler_max()));
  }
  Field(out, "Operation", w.running_operation().empty() ? "none running" : w.running_operation());
  if (!w.labels().empty()) {
    std::map<std::string, std::string> sorted(w.labels().begin(), w.labels().end());
    Field(out, "Labels", absl::StrJoin(sorted, ",", absl::PairFormatter("=")));
  }
  if (w.has_oldest_pod_age()) {
    Field(out, "Pod ages", absl::StrCat("oldest ", k8s::HumanDuration(DurationOf(w.oldest_pod_age())), ", newest ",
                                        k8s::HumanDuration(DurationOf(w.newest_pod_age()))));
  }
  if (!w.pods().empty()) {
    out += "Pods:\n";
    Table t({"NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE", "IMAGES"});
    for (const v1::PodSummary& p : w.pods()) {
      t.Add({p.name(), p.ready() ? "yes" : "no", PodStatus(p), absl::StrCat(p.restarts()), Age(p.start_time(), now),
             Dash(p.node()), Dash(absl::StrJoin(p.images(), ","))});
    }
    out += t.Render("  ");
  } else if (!IsCronJob(w)) {
    out += "Pods:         none\n";
  }
  if (!w.revisions().empty()) {
    out += "Revisions:\n";
    Table t({"REVISION", "PODS", "AGE", "IMAGES", "CHANGE-CAUSE"});
    for (const v1::Revision& r : w.revisions()) {
      std::vector<std::string> images;
      for (const v1::Container& c : r.containers()) images.push_back(absl::StrCat(c.name(), "=", c.image()));
      t.Add({absl::StrCat(r.revision(), r.current() ? " (current)" : ""), absl::StrCat(r.pods()),
             Age(r.create_time(), now), Dash(absl::StrJoin(images, ",")), Dash(r.change_cause())});
    }
    out += t.Render("  ");
  }
  return out;
}

namespace {

// "purge deploy/web", "scale deploy/api --replicas=2", "cronjob run cj/report".
std::string PolicyAction(const v1::Schedule& s) {
  switch (s.action_case()) {
    case v1::Schedule::kPurge: {
      const v1::PurgeRequest& r = s.purge();
      std::string target = r.workload().empty() ? absl::StrCat("-n ", r.namespace_(), " -l ", r.label_selector())
                                                : ShortResourceName(r.workload(), true);
      return absl::StrCat("purge ", target, r.mode() == v1::PURGE_MODE_BURN ? " --mode=burn" : "",
                          r.has_older_than() ? absl::StrCat(" --older-than=", ShortDuration(DurationOf(r.older_than())))
                                             : "",
                          r.oldest() > 0 ? absl::StrCat(" --oldest=", r.oldest()) : "");
    }
    case v1::Schedule::kScale: {
      const v1::ScaleRequest& r = s.scale();
      return absl::StrCat("scale ", ShortResourceName(r.workload(), true),
                          r.change_case() == v1::ScaleRequest::kDelta ? absl::StrCat(" --delta=", r.delta())
                                                                      : absl::StrCat(" --replicas=", r.replicas()));
    }
    case v1::Schedule::kKill: {
      const v1::KillRequest& r = s.kill();
      return absl::StrCat("kill -n ", r.namespace_(), " ",
                          r.pods().empty() ? absl::StrCat("-l ", r.label_selector()) : absl::StrJoin(r.pods(), " "));
    }
    case v1::Schedule::kRestart: return absl::StrCat("restart ", ShortResourceName(s.restart().workload(), true));
    case v1::Schedule::kCronjob: {
      const std::string verb = s.cronjob().kind() == v1::OPERATION_KIND_CRONJOB_RUN       ? "run"
                               : s.cronjob().kind() == v1::OPERATION_KIND_CRONJOB_SUSPEND ? "suspend"
                               : s.cronjob().kind() == v1::OPERATION_KIND_CRONJOB_RESUME  ? "resume"
                                                                                          : "kill";
      return absl::StrCat("cronjob ", verb, " ", ShortResourceName(s.cronjob().request().cronjob(), true));
    }
    case v1::Schedule::ACTION_NOT_SET: break;
  }
  return "-";
}

std::string ScheduleText(const v1::Schedule& s) {
  return absl::StrCat(s.cron(), s.time_zone().empty() ? "" : absl::StrCat(" (", s.time_zone(), ")"));
}

// When a policy acts: its schedule, or its maximum pod age.
std::string PolicyWhen(const v1::Policy& p) {
  if (p.has_max_pod_age()) {
    return absl::StrCat("pods at most ", k8s::HumanDuration(DurationOf(p.max_pod_age().max_age())), " old");
  }
  if (p.has_load_scaling()) {
    const v1::LoadScaling& l = p.load_scaling();
    return absl::StrCat("load ", l.query(), ", ", absl::StrFormat("%g", l.target_per_replica()), " per replica");
  }
  return ScheduleText(p.schedule());
}

// What a policy does.
std::string PolicyWhat(const v1::Policy& p) {
  if (p.has_max_pod_age()) {
    return absl::StrCat("purge the oldest of ", ShortResourceName(p.max_pod_age().workload(), true), ", spread evenly");
  }
  if (p.has_load_scaling()) {
    const v1::LoadScaling& l = p.load_scaling();
    return absl::StrCat("scale ", ShortResourceName(l.workload(), true), " ", l.has_min_replicas() ? l.min_replicas() : 1,
                        "–", l.max_replicas(), l.dry_run() ? " (dry run: reports only)" : "");
  }
  return PolicyAction(p.schedule());
}

std::string OutcomeName(v1::PolicyOutcome o) {
  switch (o) {
    case v1::POLICY_OUTCOME_STARTING: return "Starting";
    case v1::POLICY_OUTCOME_STARTED: return "Started";
    case v1::POLICY_OUTCOME_SKIPPED: return "Skipped";
    case v1::POLICY_OUTCOME_REFUSED: return "Refused";
    case v1::POLICY_OUTCOME_DRY_RUN: return "Dry run";
    default: return "-";
  }
}

// When a time is, from `now`: "in 3h", "5m ago".
std::string When(const google::protobuf::Timestamp& t, absl::Time now) {
  std::optional<absl::Time> at = TimeOf(t);
  if (!at) return "-";
  if (*at >= now) return absl::StrCat("in ", k8s::HumanDuration(*at - now));
  return absl::StrCat(k8s::HumanDuration(now - *at), " ago");
}

}  // namespace

absl::StatusOr<std::string> FormatPolicy(const v1::Policy& p, OutputFormat format, absl::Time now) {
  if (format != OutputFormat::kTable) return FormatMessage(p, format);
  std::string out;
  Field(out, "Policy", p.name());
  if (!p.description().empty()) Field(out, "Description", p.description());
  Field(out, p.has_max_pod_age() ? "Keeps" : p.has_load_scaling() ? "Follows" : "Schedule", PolicyWhen(p));
  Field(out, "Action", PolicyWhat(p));
  Field(out, "State", p.paused() ? "Paused" : "Active");
  Field(out, "Created by", p.creator());
  Field(out, "Created", WhenAgo(p.create_time(), now));
  if (!p.next_runs().empty()) {
    std::vector<std::string> runs;
    for (const auto& t : p.next_runs()) {
      runs.push_back(absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t.seconds()),
                                                   absl::UTCTimeZone()),
                                  " (", When(t, now), ")"));
    }
    Field(out, "Next runs", absl::StrJoin(runs, ", "));
  }
  if (!p.decisions().empty()) {
    out += "Decisions:\n";
    Table t({"AT", "RUN", "OUTCOME", "OPERATION", "MESSAGE"});
    for (const v1::PolicyDecision& d : p.decisions()) {
      t.Add({When(d.time(), now), d.has_scheduled_time() ? When(d.scheduled_time(), now) : "-", OutcomeName(d.outcome()),
             d.operation().empty() ? "-" : OperationId(d.operation()), Dash(d.message())});
    }
    out += t.Render("  ");
  }
  return out;
}

absl::StatusOr<std::string> FormatPolicyList(const v1::ListPoliciesResponse& list, OutputFormat format, absl::Time now) {
  if (format != OutputFormat::kTable) return FormatMessage(list, format);
  if (list.policies().empty()) return std::string();
  Table t({"ID", "SCHEDULE", "ACTION", "STATE", "NEXT-RUN", "LAST-DECISION"});
  for (const v1::Policy& p : list.policies()) {
    std::string last = "-";
    if (!p.decisions().empty()) {
      const v1::PolicyDecision& d = p.decisions(0);
      last = d.outcome() == v1::POLICY_OUTCOME_UNSPECIFIED ? Dash(d.message())
                                                           : absl::StrCat(OutcomeName(d.outcome()), " ", When(d.time(), now));
    }
    t.Add({p.name().substr(p.name().find('/') + 1), PolicyWhen(p), PolicyWhat(p), p.paused() ? "Paused" : "Active", p.next_runs().empty() ? "-" : When(p.next_runs(0), now), last});
  }
  return t.Render();
}

absl::StatusOr<std::string> FormatWorkloadList(const v1::ListWorkloadsResponse& list, OutputFormat format,
                                               absl::Time now, bool all_namespaces) {
  if (format != OutputFormat::kTable) return FormatMessage(list, format);
  if (list.workloads().empty()) return std::string();
  const bool cronjobs_only = std::all_of(list.workloads().begin(), list.workloads().end(), IsCronJob);
  std::vector<std::string> header =
      cronjobs_only ? std::vector<std::string>{"NAME", "SCHEDULE", "SUSPEND", "ACTIVE", "LAST-SCHEDULE", "IMAGES",
                                               "OPERATION"}
                    : std::vector<std::string>{"NAME", "KIND", "READY", "UP-TO-DATE", "AVAILABLE", "REVISION",
                                               "IMAGES", "OPERATION", "POD-AGE"};
  if (all_namespaces) header.insert(header.begin(), "NAMESPACE");
  Table t(header);
  for (const v1::Workload& w : list.workloads()) {
    const std::string op = w.running_operation().empty() ? "-" : OperationId(w.running_operation());
    std::vector<std::string> row;
    if (cronjobs_only) {
      row = {ShortName(w.name()), Dash(w.schedule()), w.suspended() ? "True" : "False",
             absl::StrCat(w.active_jobs()), Age(w.last_schedule_time(), now), Images(w), op};
    } else if (IsCronJob(w)) {
      row = {ShortName(w.name()), w.kind(), "-", "-", "-", "-", Images(w), op, "-"};
    } else {
      row = {ShortName(w.name()),
             Dash(w.kind()),
             absl::StrCat(w.ready_replicas(), "/", w.desired_replicas()),
             absl::StrCat(w.updated_replicas()),
             absl::StrCat(w.available_replicas()),
             w.revision() > 0 ? absl::StrCat(w.revision()) : "-",
             Images(w),
             op,
             w.has_oldest_pod_age() ? k8s::HumanDuration(DurationOf(w.oldest_pod_age())) : "-"};
    }
    if (all_namespaces) row.insert(row.begin(), Dash(w.namespace_()));
    t.Add(std::move(row));
  }
  return t.Render();
}

// ---------------------------------------------------------------------------
// ProgressPrinter.

namespace {

constexpr int kBarWidth = 24;

std::string Bar(const v1::Operation& op) {
  std::optional<double> done = ProgressFraction(op);
  if (!done) return "";
  const int filled = std::clamp(static_cast<int>(*done * kBarWidth), 0, kBarWidth);
  return absl::StrCat("[", std::string(static_cast<size_t>(filled), '#'),
                      std::string(static_cast<size_t>(kBarWidth - filled), '.'), "] ");
}

bool SameEvent(const v1::OperationEvent& a, const v1::OperationEvent& b) {
  return a.time().seconds() == b.time().seconds() && a.time().nanos() == b.time().nanos() &&
         a.message() == b.message();
}

std::string Elapsed(const v1::Operation& op, absl::Time at) {
  std::optional<absl::Time> start = TimeOf(op.create_time());
  return start ? ShortDuration(at - *start) : "";
}

}  // namespace

ProgressPrinter::ProgressPrinter(std::ostream& out, bool tty, std::function<absl::Time()> now)
    : out_(out), tty_(tty), now_(std::move(now)) {}

void ProgressPrinter::ClearLive() {
  if (live_shown_) {
    out_ << "\r\033[K";
    live_shown_ = false;
  }
}

void ProgressPrinter::PrintEvents(const v1::Operation& op) {
  // The event log is short and the server may drop its oldest entries, so
  // find where we left off rather than counting.
  int start = 0;
  if (last_event_) {
    start = op.events_size();
    for (int i = op.events_size() - 1; i >= 0; --i) {
      if (SameEvent(op.events(i), *last_event_)) {
        start = i + 1;
        break;
      }
    }
    if (start == op.events_size()) {
      // Not found: show what is newer than the last one shown.
      std::optional<absl::Time> last = TimeOf(last_event_->time());
      for (start = 0; start < op.events_size(); ++start) {
        std::optional<absl::Time> t = TimeOf(op.events(start).time());
        if (!t || !last || *t > *last) break;
      }
    }
  }
  std::optional<absl::Time> created = TimeOf(op.create_time());
  for (int i = start; i < op.events_size(); ++i) {
    const v1::OperationEvent& e = op.events(i);
    std::optional<absl::Time> t = TimeOf(e.time());
    std::string at = t && created ? absl::StrFormat("[%7s] ", ShortDuration(*t - *created)) : "";
    ClearLive();
    out_ << "  " << at << e.message() << "\n";
    last_event_ = e;
  }
}

void ProgressPrinter::Update(const v1::Operation& op) {
  if (!header_shown_) {
    out_ << op.name() << ": " << KindName(op.kind()) << " of " << Target(op) << "\n";
    header_shown_ = true;
  }
  PrintEvents(op);
  const std::string progress = ProgressText(op);
  const std::string status = absl::StrCat(StateName(op.state()), progress.empty() ? "" : "  ", progress);
  if (tty_) {
    ClearLive();
    std::string elapsed = Elapsed(op, now_());
    out_ << "  " << Bar(op) << status << (elapsed.empty() ? "" : "  ") << elapsed << std::flush;
    live_shown_ = true;
  } else if (status != last_status_) {
    std::optional<absl::Time> updated = TimeOf(op.update_time());
    std::string elapsed = Elapsed(op, updated ? *updated : now_());
    out_ << "  " << (elapsed.empty() ? "" : absl::StrFormat("[%7s] ", elapsed)) << status << "\n";
  }
  out_.flush();
  last_status_ = status;
}

void ProgressPrinter::Finish() {
  ClearLive();
  out_.flush();
}

}  // namespace herd::herdctl
