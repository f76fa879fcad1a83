#include "server/kube/internal/watch_stream.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/kube/errors.h"

namespace herd::kube::internal {
namespace {

// Longest single poll: libcurl's own timers are re-checked at least this often.
constexpr absl::Duration kMaxPoll = absl::Seconds(30);

}  // namespace

CurlWatchStream::CurlWatchStream(std::unique_ptr<Call> call) : call_(std::move(call)), multi_(curl_multi_init()) {
  curl_multi_add_handle(multi_, call_->handle());
}

CurlWatchStream::~CurlWatchStream() {
  // Removing an unfinished transfer closes its connection rather than
  // keeping it for a later request.
  curl_multi_remove_handle(multi_, call_->handle());
  curl_multi_cleanup(multi_);
}

std::variant<std::unique_ptr<CurlWatchStream>, HttpResult> CurlWatchStream::Open(std::unique_ptr<Call> call,
                                                                                  absl::Time deadline) {
  std::unique_ptr<CurlWatchStream> s(new CurlWatchStream(std::move(call)));
  auto answered = [&] { return s->done_ || s->call_->headers_done(); };
  for (s->Perform(); !answered() && absl::Now() < deadline; s->Perform()) s->Wait(deadline);
  if (!s->done_ && !s->call_->headers_done()) {
    HttpResult r;
    r.curl = CURLE_OPERATION_TIMEDOUT;
    r.curl_error = "no answer to the watch request in time";
    return r;
  }
  if (!s->done_ && s->call_->status() == 200) {
    s->framer_.Append(s->call_->TakeBody());
    return s;
  }
  // An error answer: read its (small) body for the status.
  while (!s->done_ && absl::Now() < deadline) {
    s->Wait(deadline);
    s->Perform();
  }
  if (!s->done_) {
    HttpResult r;
    r.curl = CURLE_OPERATION_TIMEDOUT;
    r.curl_error = "the watch error answer did not end in time";
    return r;
  }
  HttpResult r = s->call_->Finish(s->done_code_);
  if (r.curl == CURLE_OK && r.status == 200) {
    // A 200 that already ended: still a stream, its events are buffered.
    s->framer_.Append(r.body);
    s->done_code_ = CURLE_OK;
    return s;
  }
  return r;
}

void CurlWatchStream::Perform() {
  int running = 0;
  curl_multi_perform(multi_, &running);
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
    if (msg->msg == CURLMSG_DONE) {
      done_ = true;
      done_code_ = msg->data.result;
    }
  }
}

void CurlWatchStream::Wait(absl::Time deadline) {
  if (cancelled_.load()) return;
  long curl_timeout_ms = -1;
  curl_multi_timeout(multi_, &curl_timeout_ms);
  absl::Duration wait = std::min(kMaxPoll, deadline - absl::Now());
  if (curl_timeout_ms >= 0) wait = std::min(wait, absl::Milliseconds(curl_timeout_ms));
  if (wait < absl::ZeroDuration()) wait = absl::ZeroDuration();
  // Returns on socket activity, libcurl's next timer, or curl_multi_wakeup.
  curl_multi_poll(multi_, nullptr, 0, static_cast<int>(absl::ToInt64Milliseconds(wait)), nullptr);
}

absl::StatusOr<WatchEvent> CurlWatchStream::Parse(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError("watch stream: an event is not valid JSON");
  }
  auto type = j.find("type");
  auto object = j.find("object");
  if (type == j.end() || !type->is_string() || object == j.end()) {
    return absl::DataLossError("watch stream: an event without type or object");
  }
  const std::string& t = type->get_ref<const std::string&>();
  WatchEvent ev;
  if (t == "ADDED") {
    ev.type = WatchEvent::Type::kAdded;
  } else if (t == "MODIFIED") {
    ev.type = WatchEvent::Type::kModified;
  } else if (t == "DELETED") {
    ev.type = WatchEvent::Type::kDeleted;
  } else if (t == "BOOKMARK") {
    ev.type = WatchEvent::Type::kBookmark;
  } else if (t == "ERROR") {
    return StatusFromStatusObject(*object);
  } else {
    return absl::DataLossError(absl::StrCat("watch stream: unknown event type \"", t, "\""));
  }
  ev.object = std::move(*object);
  return ev;
}

absl::StatusOr<WatchEvent> CurlWatchStream::Next() {
  while (true) {
    if (cancelled_.load()) return absl::CancelledError("watch cancelled");
    if (terminal_) return *terminal_;
    auto text = framer_.Next();
    if (!text.ok()) {
      terminal_ = text.status();
      continue;
    }
    if (text->has_value()) {
      absl::StatusOr<WatchEvent> ev = Parse(**text);
      // After an error event the server ends the stream; so do we.
      if (!ev.ok()) terminal_ = ev.status();
      return ev;
    }
    if (done_) {
      if (done_code_ != CURLE_OK) {
        HttpResult r = call_->Finish(done_code_);
        terminal_ = absl::UnavailableError(absl::StrCat("watch connection to ", call_->url(), " broke: ", r.curl_error));
      } else if (framer_.HasPartial()) {
        terminal_ = absl::UnavailableError("watch stream ended inside an event");
      } else {
        terminal_ = absl::OutOfRangeError("watch stream ended");
      }
      continue;
    }
    Perform();
    if (call_->has_data()) {
      framer_.Append(call_->TakeBody());
      continue;
    }
    if (!done_) Wait(absl::InfiniteFuture());
  }
}

void CurlWatchStream::Cancel() {
  cancelled_.store(true);
  curl_multi_wakeup(multi_);
}

}  // namespace herd::kube::internal
