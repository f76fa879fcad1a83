// One instant query to a Prometheus server's HTTP API (POST /api/v1/query),
// read as one number: a scalar, or an instant vector of exactly one sample.
//
//   absl::StatusOr<double> v = QueryValue("http://prometheus:9090", "sum(queue_depth)", absl::Seconds(10));
//
// UNAVAILABLE when there is no answer (or a 5xx); INVALID_ARGUMENT when
// Prometheus refuses the query (its message); FAILED_PRECONDITION when the
// answer is not one finite number (no sample, several, NaN). Thread-safe.
#ifndef HERD_SERVER_POLICIES_PROMETHEUS_H_
#define HERD_SERVER_POLICIES_PROMETHEUS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace herd::policies {

absl::StatusOr<double> QueryValue(const std::string& base_url, const std::string& query, absl::Duration timeout);

// Reads a /api/v1/query answer (exposed for tests).
absl::StatusOr<double> ParseQueryAnswer(long http_status, const std::string& body);

}  // namespace herd::policies

#endif  // HERD_SERVER_POLICIES_PROMETHEUS_H_
