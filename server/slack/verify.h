// Checks that an HTTP request came from Slack, as Slack documents it
// ("Verifying requests from Slack"): the X-Slack-Signature header is
// "v0=" + hex(HMAC-SHA256(signing secret, "v0:" + X-Slack-Request-Timestamp
// + ":" + body)), compared in constant time; the timestamp is within a
// window of now (5 minutes); and a signature already accepted is refused
// (a replay), for as long as its timestamp is inside the window.
//
//   RequestVerifier verifier(secret, {});
//   if (absl::Status st = verifier.Verify(req.headers, req.body); !st.ok()) {
//     return res.Respond({.status = 401, .body = std::string(st.message())});
//   }
//
// Thread-safe.
#ifndef HERD_SERVER_SLACK_VERIFY_H_
#define HERD_SERVER_SLACK_VERIFY_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/http/http.h"

namespace herd::slack {

struct VerifierOptions {
  // How far a request's timestamp may be from now, either way.
  absl::Duration window = absl::Minutes(5);
  // The time source; null: absl::Now.
  std::function<absl::Time()> now;
};

class RequestVerifier {
 public:
  RequestVerifier(std::string signing_secret, VerifierOptions options);

  // OK for a request Slack signed and that was not seen before; otherwise
  // UNAUTHENTICATED saying which check failed (never the secret or the
  // expected signature).
  absl::Status Verify(const http::Headers& headers, absl::string_view body);

 private:
  const std::string secret_;
  const VerifierOptions options_;
  absl::Mutex mu_;
  // Accepted signatures, by the time they leave the window.
  std::set<std::string> seen_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, std::string> expiry_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd::slack

#endif  // HERD_SERVER_SLACK_VERIFY_H_
