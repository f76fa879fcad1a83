// Kubernetes JSON as herd's client reads it: the bytes of an API answer
// parsed into JSON, wrapped in every typed view (types.h) with every accessor
// called, read as an error answer (errors.h), and split as a watch stream
// (json_framer.h). A view must read any JSON as zero values or defaults,
// never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/kube/errors.h"
#include "server/kube/internal/json_framer.h"
#include "server/kube/types.h"

namespace herd::kube {
namespace {

// Keeps results alive so the calls are not optimized away.
volatile size_t sink;
void Use(const std::string& s) { sink = sink + s.size(); }
void Use(int64_t v) { sink = sink + static_cast<size_t>(v); }
void Use(bool v) { sink = sink + v; }
void Use(const std::optional<absl::Time>& t) { sink = sink + t.has_value(); }
template <class K, class V>
void Use(const std::map<K, V>& m) { sink = sink + m.size(); }
void Use(const absl::StatusOr<k8s::LabelSelector>& s) {
  if (s.ok()) Use(s->ToString());
}
void Use(const std::vector<Container>& cs) {
  for (const Container& c : cs) Use(c.name + c.image);
}
void Use(const std::vector<Condition>& cs) {
  for (const Condition& c : cs) {
    Use(c.type + c.status + c.reason + c.message);
    Use(c.last_transition_time);
    Use(c.last_update_time);
    Use(c.IsTrue());
  }
}
void Use(const std::optional<Condition>& c) {
  if (c) Use(std::vector<Condition>{*c});
}
void Use(const std::vector<ContainerStatus>& ss) {
  for (const ContainerStatus& s : ss) {
    Use(s.name + s.image + s.waiting_reason + s.waiting_message + s.terminated_reason + s.last_terminated_reason);
    Use(s.ready);
    Use(s.started);
    Use(int64_t{s.restart_count});
    Use(int64_t{s.exit_code.value_or(0)});
  }
}

void ReadObject(const Object& o) {
  Use(o.api_version());
  Use(o.kind());
  Use(o.name());
  Use(o.ns());
  Use(o.uid());
  Use(o.resource_version());
  Use(o.generation());
  Use(o.labels());
  Use(o.annotations());
  Use(o.label("app"));
  Use(o.annotation(kRevisionAnnotation));
  for (const OwnerReference& r : o.owner_references()) Use(r.api_version + r.kind + r.name + r.uid);
  if (auto r = o.controller_ref()) Use(r->controller);
  Use(o.creation_timestamp());
  Use(o.deletion_timestamp());
  Use(o.terminating());
}

void ReadEverything(const ObjectPtr& json) {
  ReadObject(Object(json));

  Deployment d(json);
  Use(int64_t{d.replicas()});
  sink = sink + (d.selector() != nullptr);
  Use(d.label_selector());
  Use(d.containers());
  Use(d.images());
  Use(d.strategy_type());
  Use(d.max_surge());
  Use(d.max_unavailable());
  Use(int64_t{d.progress_deadline_seconds()});
  Use(d.paused());
  Use(d.revision());
  Use(d.observed_generation());
  Use(int64_t{d.status_replicas()} + d.updated_replicas() + d.ready_replicas() + d.available_replicas() +
      d.unavailable_replicas());
  Use(d.conditions());
  Use(d.condition("Progressing"));
  Use(d.ProgressDeadlineExceeded());
  Use(d.RolloutComplete());

  ReplicaSet rs(json);
  Use(int64_t{rs.replicas()});
  Use(rs.pod_template_hash());
  Use(rs.revision());
  Use(rs.containers());
  Use(rs.images());
  Use(rs.observed_generation());
  Use(int64_t{rs.status_replicas()} + rs.ready_replicas() + rs.available_replicas());

  StatefulSet s(json);
  Use(int64_t{s.replicas()});
  Use(s.label_selector());
  Use(s.containers());
  Use(s.images());
  Use(s.update_strategy_type());
  Use(int64_t{s.partition()});
  Use(s.pod_management_policy());
  Use(s.observed_generation());
  Use(int64_t{s.status_replicas()} + s.ready_replicas() + s.current_replicas() + s.updated_replicas() +
      s.available_replicas());
  Use(s.current_revision() + s.update_revision());
  Use(s.RolloutComplete());

  Pod p(json);
  Use(p.phase() + p.node_name() + p.pod_ip());
  Use(p.containers());
  Use(p.start_time());
  Use(p.conditions());
  Use(p.ready());
  Use(p.ready_condition());
  Use(p.container_statuses());
  Use(p.init_container_statuses());
  Use(int64_t{p.restart_count()});
  Use(p.terminal());
  Use(p.FailureReason());

  PodDisruptionBudget pdb(json);
  Use(pdb.min_available() + pdb.max_unavailable());
  Use(pdb.label_selector());
  Use(int64_t{pdb.current_healthy()} + pdb.desired_healthy() + pdb.disruptions_allowed() + pdb.expected_pods());
  Use(pdb.observed_generation());

  CronJob cj(json);
  Use(cj.schedule() + cj.time_zone() + cj.concurrency_policy());
  Use(cj.suspend());
  sink = sink + (cj.job_template() != nullptr);
  for (const ObjectReference& r : cj.active()) Use(r.api_version + r.kind + r.ns + r.name + r.uid);
  Use(cj.last_schedule_time());
  Use(cj.last_successful_time());

  Job j(json);
  Use(int64_t{j.parallelism()} + j.completions() + j.active() + j.succeeded() + j.failed());
  Use(j.start_time());
  Use(j.completion_time());
  Use(j.conditions());
  Use(j.complete());
  Use(j.failed_condition());
  Use(j.finished());

  Lease l(json);
  Use(l.holder_identity());
  Use(int64_t{l.lease_duration_seconds()} + l.lease_transitions());
  Use(l.acquire_time());
  Use(l.renew_time());
  Use(l.HeldAt(absl::FromUnixSeconds(1767225600)));
  Use(l.HeldAt(absl::InfiniteFuture()));
  Use(l.HeldAt(absl::InfinitePast()));

  HorizontalPodAutoscaler h(json);
  Use(int64_t{h.min_replicas()} + h.max_replicas() + h.current_replicas() + h.desired_replicas());
  Use(h.target_kind() + h.target_name());
}

void ReadError(int code, const std::string& body, const Json* json) {
  absl::Status st = StatusFromResponse(code, body);
  Use(std::string(st.message()));
  Use(ErrorReason(st));
  Use(int64_t{ErrorHttpCode(st)});
  Use(IsConflict(st) || IsGone(st) || IsInvalid(st) || IsTooManyRequests(st));
  Use(DisruptionBudgetCause(st));
  if (auto o = ErrorStatusObject(st)) Use(o->is_object());
  if (json != nullptr) {
    absl::Status from_object = StatusFromStatusObject(*json);
    Use(ErrorReason(from_object));
    Use(DisruptionBudgetCause(from_object));
  }
}

}  // namespace
}  // namespace herd::kube

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using herd::kube::Json;
  const std::string text(reinterpret_cast<const char*>(data), size);

  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  const bool valid = !json.is_discarded();
  if (valid) {
    auto ptr = std::make_shared<const Json>(json);
    herd::kube::ReadEverything(ptr);
    // The same fields one level down, as in a list's items or a watch event.
    if (json.is_object()) {
      for (const char* key : {"object", "items"}) {
        auto it = json.find(key);
        if (it == json.end()) continue;
        if (it->is_array()) {
          for (const Json& item : *it) herd::kube::ReadEverything(std::make_shared<const Json>(item));
        } else {
          herd::kube::ReadEverything(std::make_shared<const Json>(*it));
        }
      }
    }
  }
  // Error answers: the HTTP code from the first byte.
  static constexpr int kCodes[] = {400, 401, 403, 404, 405, 409, 410, 415, 422, 429, 500, 503, 504, 200, 0, 599};
  herd::kube::ReadError(kCodes[size > 0 ? data[0] % 16 : 0], text, valid ? &json : nullptr);

  // A watch stream, fed in two chunks split where the second byte says.
  herd::kube::internal::JsonFramer framer;
  size_t cut = size > 1 ? data[1] % size : 0;
  framer.Append(absl::string_view(text).substr(0, cut));
  for (int round = 0; round < 2; ++round) {
    while (true) {
      absl::StatusOr<std::optional<std::string>> next = framer.Next();
      if (!next.ok() || !next->has_value()) break;
      // What the watch does with each piece (the framer only balances braces).
      Json event = Json::parse(**next, nullptr, false);
      if (!event.is_discarded()) herd::kube::ReadEverything(std::make_shared<const Json>(std::move(event)));
    }
    if (round == 0) framer.Append(absl::string_view(text).substr(cut));
  }
  herd::kube::Use(framer.HasPartial());
  return 0;
}
