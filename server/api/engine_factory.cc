#include "server/api/engine_factory.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "server/engines/cronjob.h"
#include "server/engines/kill.h"
#include "server/engines/purge.h"
#include "server/engines/rollout.h"
#include "server/engines/scale.h"

namespace herd::api {
namespace {

template <typename Request>
absl::StatusOr<Request> Parse(const ops::Record& record) {
  Request req;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(record.request_json, &req, o);
  if (!st.ok()) {
    return absl::DataLossError(absl::StrCat("the request stored with ", record.op.name(),
                                            " is unreadable: ", st.message().as_string()));
  }
  return req;
}

template <typename Request>
EngineOrError FromRecord(const ops::Record& record) {
  auto req = Parse<Request>(record);
  if (!req.ok()) return req.status();
  return NewEngine(*req);
}

}  // namespace

EngineOrError NewEngine(const v1::RolloutRequest& request) { return engines::NewRolloutEngine(request); }
EngineOrError NewEngine(const v1::UndoRequest& request) { return engines::NewUndoEngine(request); }
EngineOrError NewEngine(const v1::ScaleRequest& request) { return engines::NewScaleEngine(request); }
EngineOrError NewEngine(const v1::PurgeRequest& request) { return engines::NewPurgeEngine(request); }
EngineOrError NewEngine(const v1::KillRequest& request) { return engines::NewKillEngine(request); }
EngineOrError NewEngine(v1::OperationKind kind, const v1::CronJobRequest& request) {
  return engines::NewCronJobEngine(kind, request);
}

EngineOrError EngineFromRecord(const ops::Record& record) {
  switch (record.op.kind()) {
    case v1::OPERATION_KIND_ROLLOUT: return FromRecord<v1::RolloutRequest>(record);
    case v1::OPERATION_KIND_UNDO: return FromRecord<v1::UndoRequest>(record);
    case v1::OPERATION_KIND_SCALE: return FromRecord<v1::ScaleRequest>(record);
    case v1::OPERATION_KIND_PURGE: return FromRecord<v1::PurgeRequest>(record);
    case v1::OPERATION_KIND_KILL: return FromRecord<v1::KillRequest>(record);
    case v1::OPERATION_KIND_CRONJOB_RUN:
    case v1::OPERATION_KIND_CRONJOB_SUSPEND:
    case v1::OPERATION_KIND_CRONJOB_RESUME:
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS: {
      auto req = Parse<v1::CronJobRequest>(record);
      if (!req.ok()) return req.status();
      return NewEngine(record.op.kind(), *req);
    }
    default:
      return absl::DataLossError(absl::StrCat(record.op.name(), " has an unknown kind"));
  }
}

}  // namespace herd::api
