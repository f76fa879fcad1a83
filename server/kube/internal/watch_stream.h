// A watch over libcurl's multi interface: the transfer advances only inside
// Next(), which blocks in curl_multi_poll; Cancel() wakes that poll from any
// thread with curl_multi_wakeup.
#ifndef HERD_SERVER_KUBE_INTERNAL_WATCH_STREAM_H_
#define HERD_SERVER_KUBE_INTERNAL_WATCH_STREAM_H_

#include <curl/curl.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/kube/client.h"
#include "server/kube/internal/json_framer.h"
#include "server/kube/internal/transport.h"

namespace herd::kube::internal {

class CurlWatchStream : public WatchStream {
 public:
  // Starts `call` and waits until the answer's headers are in (or the
  // transfer ends, or `deadline`). A 200 gives a stream; anything else the
  // whole failed result, for the caller's retry logic.
  static std::variant<std::unique_ptr<CurlWatchStream>, HttpResult> Open(std::unique_ptr<Call> call,
                                                                          absl::Time deadline);
  ~CurlWatchStream() override;

  // One reader at a time.
  absl::StatusOr<WatchEvent> Next() override;
  // Any thread, any time before destruction.
  void Cancel() override;

 private:
  explicit CurlWatchStream(std::unique_ptr<Call> call);
  // Moves the transfer on as far as it can without blocking.
  void Perform();
  // Blocks until there is something for Perform, a wakeup, or `deadline`.
  void Wait(absl::Time deadline);
  absl::StatusOr<WatchEvent> Parse(const std::string& text);

  std::unique_ptr<Call> call_;
  CURLM* multi_;
  std::atomic<bool> cancelled_{false};
  bool done_ = false;
  CURLcode done_code_ = CURLE_OK;
  JsonFramer framer_;
  std::optional<absl::Status> terminal_;
};

}  // namespace herd::kube::internal

#endif  // HERD_SERVER_KUBE_INTERNAL_WATCH_STREAM_H_
