// File reading for configuration and tokens, with errors that name the file.
#ifndef HERD_SERVER_KUBE_INTERNAL_FILES_H_
#define HERD_SERVER_KUBE_INTERNAL_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herd::kube::internal {

// The whole file; NOT_FOUND, PERMISSION_DENIED, … naming `what` and `path`.
absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what);

// Whether `path` names an existing file (following links).
bool FileExists(const std::string& path);

// `path` made absolute against `dir` when it is relative.
std::string ResolvePath(absl::string_view dir, absl::string_view path);

// The directory part of `path` ("." when there is none).
std::string DirName(absl::string_view path);

}  // namespace herd::kube::internal

#endif  // HERD_SERVER_KUBE_INTERNAL_FILES_H_
