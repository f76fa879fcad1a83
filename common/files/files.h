// File reading for configuration, tokens and secrets, with errors that name
// the file.
#ifndef HERD_COMMON_FILES_FILES_H_
#define HERD_COMMON_FILES_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herd::files {

// The whole file; NOT_FOUND, PERMISSION_DENIED, … naming `what` and `path`.
absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what);

// Whether `path` names an existing file (following links).
bool FileExists(const std::string& path);

// `path` made absolute against `dir` when it is relative.
std::string ResolvePath(absl::string_view dir, absl::string_view path);

// The directory part of `path` ("." when there is none).
std::string DirName(absl::string_view path);

}  // namespace herd::files

#endif  // HERD_COMMON_FILES_FILES_H_
