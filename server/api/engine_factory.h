// Builds the engine for a request, or, when adopting an operation, for the
// request stored in its record.
#ifndef HERD_SERVER_API_ENGINE_FACTORY_H_
#define HERD_SERVER_API_ENGINE_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "herd/v1/herd.pb.h"
#include "server/ops/engine.h"
#include "server/ops/store.h"

namespace herd::api {

using EngineOrError = absl::StatusOr<std::unique_ptr<ops::Engine>>;

// Each validates the request without the cluster: INVALID_ARGUMENT for one
// no engine can run, including durations outside google.protobuf.Duration's
// range (the operation's record must be able to hold the request as JSON).

EngineOrError NewEngine(const v1::RolloutRequest& request);
EngineOrError NewEngine(const v1::UndoRequest& request);
EngineOrError NewEngine(const v1::ScaleRequest& request);
EngineOrError NewEngine(const v1::PurgeRequest& request);
EngineOrError NewEngine(const v1::KillRequest& request);
EngineOrError NewEngine(v1::OperationKind kind, const v1::CronJobRequest& request);

// The engine of a stored operation (for adoption by another replica).
EngineOrError EngineFromRecord(const ops::Record& record);

}  // namespace herd::api

#endif  // HERD_SERVER_API_ENGINE_FACTORY_H_
