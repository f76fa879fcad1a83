#include "server/kube/internal/token_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "common/log/log.h"
#include "common/files/files.h"

namespace herd::kube::internal {

TokenSource::TokenSource(std::string token, std::string file) : file_(std::move(file)), token_(std::move(token)) {}

bool TokenSource::ReadLocked(const FileId& id) {
  auto text = files::ReadFile(file_, "bearer token file");
  if (!text.ok()) {
    if (!warned_) log::Warn("bearer token file not readable, keeping the old token", {{"error", text.status()}});
    warned_ = true;
    return false;
  }
  warned_ = false;
  seen_ = id;
  token_ = std::string(absl::StripAsciiWhitespace(*text));
  return true;
}

std::string TokenSource::Token() {
  absl::MutexLock lock(&mu_);
  if (file_.empty()) return token_;
  struct stat st;
  if (::stat(file_.c_str(), &st) == 0) {
    FileId id{st.st_mtim, st.st_size, st.st_ino};
    if (!(id == seen_)) ReadLocked(id);
  }
  return token_;
}

bool TokenSource::Refresh() {
  absl::MutexLock lock(&mu_);
  if (file_.empty()) return false;
  struct stat st;
  FileId id;
  if (::stat(file_.c_str(), &st) == 0) id = FileId{st.st_mtim, st.st_size, st.st_ino};
  std::string old = token_;
  if (!ReadLocked(id)) return false;
  return token_ != old;
}

}  // namespace herd::kube::internal
