#include "server/kube/internal/json_framer.h"

#include "absl/strings/str_cat.h"

namespace herd::kube::internal {

namespace {
bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
}  // namespace

void JsonFramer::Append(absl::string_view data) {
  // Drop what was consumed before growing, so a long watch does not keep
  // every event it ever saw.
  if (start_ > 0 && start_ >= buf_.size() / 2) {
    buf_.erase(0, start_);
    pos_ -= start_;
    start_ = 0;
  }
  buf_.append(data.data(), data.size());
}

absl::StatusOr<std::optional<std::string>> JsonFramer::Next() {
  while (pos_ < buf_.size()) {
    char c = buf_[pos_];
    if (depth_ == 0) {
      if (IsSpace(c)) {
        start_ = ++pos_;
        continue;
      }
      if (c != '{') {
        return absl::DataLossError(
            absl::StrCat("watch stream: expected a JSON object, got '", absl::string_view(&c, 1), "'"));
      }
    }
    ++pos_;
    if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string_ = true; break;
      case '{':
      case '[': ++depth_; break;
      case '}':
      case ']':
        if (--depth_ == 0) {
          std::string out = buf_.substr(start_, pos_ - start_);
          start_ = pos_;
          return std::optional<std::string>(std::move(out));
        }
        break;
      default: break;
    }
  }
  return std::optional<std::string>();
}

bool JsonFramer::HasPartial() const { return depth_ > 0 || pos_ < buf_.size(); }

}  // namespace herd::kube::internal
