#include "server/engines/engine_util.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "server/engines/pods.h"
#include "server/kube/errors.h"

namespace herd::engines {

std::string ProtoJson(const google::protobuf::Message& request) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(request, &out);
  return out;
}

std::string JsonPointerToken(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string OperationId(const ops::LiveOperation& op) {
  std::string name = op.name();
  return name.substr(name.find('/') + 1);
}

absl::StatusOr<Json> GetWorkload(ops::EngineEnv& env, const ops::WorkloadName& w, ReadFrom from) {
  if (from == ReadFrom::kCache && !env.reads_from_api) {
    kube::Informer& cache = env.informers.For(*w.resource, w.ns);
    if (kube::ObjectPtr held = cache.HasSynced() ? cache.Get(w.ns, w.name) : nullptr) return *held;
  }
  auto wl = env.kube.Get(*w.resource, w.ns, w.name);
  if (!wl.ok() && kube::IsNotFound(wl.status())) return absl::NotFoundError(absl::StrCat(w.ToString(), " not found"));
  return wl;
}

absl::StatusOr<std::vector<Json>> ListObjects(ops::EngineEnv& env, const kube::Resource& r, const std::string& ns,
                                              const k8s::LabelSelector& selector, ReadFrom from) {
  std::vector<Json> out;
  if (from == ReadFrom::kCache && !env.reads_from_api) {
    if (kube::Informer& cache = env.informers.For(r, ns); cache.HasSynced()) {
      for (const kube::ObjectPtr& o : cache.List(ns, selector)) out.push_back(*o);
      return out;
    }
  }
  auto list = env.kube.ListAll(r, ns, {.label_selector = selector.ToString()});
  if (!list.ok()) return list.status();
  return std::move(list->items);
}

bool PersistBeforeWrite(ops::LiveOperation& op) {
  absl::Status st = op.Persist();
  if (st.ok()) return true;
  // Taken over by another replica: it goes on; this one only stops.
  if (op.hand_over_requested()) return false;
  Fail(op, v1::FAILURE_REASON_API_ERROR,
       absl::Status(st.code(), absl::StrCat("cannot record the operation's progress in the cluster, so nothing more "
                                            "was changed: ",
                                            st.message())));
  return false;
}

void Fail(ops::LiveOperation& op, v1::FailureReason reason, const absl::Status& error) {
  v1::Failure f;
  f.set_reason(reason);
  op.Finish(v1::OPERATION_STATE_FAILED, error, &f);
}

v1::FailureReason ReasonForApiError(const absl::Status& status) {
  if (kube::IsNotFound(status)) return v1::FAILURE_REASON_NOT_FOUND;
  if (kube::IsConflict(status)) return v1::FAILURE_REASON_CONFLICT;
  // The request does not fit the cluster (a guard, a bad selector): no
  // reason to branch on beyond the error's code.
  if (absl::IsFailedPrecondition(status) || absl::IsInvalidArgument(status)) return v1::FAILURE_REASON_UNSPECIFIED;
  return v1::FAILURE_REASON_API_ERROR;
}

v1::Failure FailureForProblems(const std::vector<v1::PodProblem>& problems, absl::Status* error) {
  v1::Failure failure;
  const v1::PodProblem& first = problems.front();
  failure.set_reason(FailureReasonOf(first.reason()));
  for (const auto& p : problems) *failure.add_pods() = p;
  *error = absl::FailedPreconditionError(absl::StrCat(first.reason(), " in pod ", first.pod(),
                                                      first.message().empty() ? "" : ": ", first.message()));
  return failure;
}

v1::Failure FailureForProblems(ops::EngineEnv& env, const std::string& ns, const std::vector<v1::PodProblem>& problems,
                               absl::Status* error) {
  v1::Failure failure = FailureForProblems(problems, error);
  int read = 0;
  std::string telling;
  for (v1::PodProblem& p : *failure.mutable_pods()) {
    if (p.reason() != "CrashLoopBackOff" || read >= 3) continue;
    ++read;
    for (auto& line : CrashLogTail(env.kube, ns, p)) p.add_log_tail(std::move(line));
    if (telling.empty()) telling = TellingLine({p.log_tail().begin(), p.log_tail().end()});
  }
  if (!telling.empty()) {
    *error = absl::Status(error->code(), absl::StrCat(error->message(), "; its log: ", telling));
  }
  return failure;
}

v1::Failure FailureForDeadline(const std::vector<std::string>& not_ready, bool running_not_ready,
                               const std::string& what, absl::Status* error) {
  v1::Failure failure;
  failure.set_reason(running_not_ready ? v1::FAILURE_REASON_READINESS_FAILING : v1::FAILURE_REASON_DEADLINE_EXCEEDED);
  for (const auto& name : not_ready) {
    auto* p = failure.add_pods();
    size_t paren = name.find(" (");
    p->set_pod(name.substr(0, paren));
    if (running_not_ready) {
      p->set_reason("NotReady");
    } else if (paren != std::string::npos && name.size() > paren + 3) {
      p->set_reason(name.substr(paren + 2, name.size() - paren - 3));
    }
  }
  *error = absl::DeadlineExceededError(
      absl::StrCat(what, not_ready.empty() ? "" : absl::StrCat(" (waiting for ", absl::StrJoin(not_ready, ", "), ")")));
  return failure;
}

}  // namespace herd::engines
