#include "common/k8s/image.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace herd::k8s {

std::string WithTag(absl::string_view image, absl::string_view tag) {
  if (size_t at = image.find('@'); at != absl::string_view::npos) image = image.substr(0, at);
  const size_t slash = image.rfind('/');
  const size_t colon = image.rfind(':');
  if (colon != absl::string_view::npos && (slash == absl::string_view::npos || colon > slash)) {
    image = image.substr(0, colon);
  }
  return absl::StrCat(image, ":", tag);
}

absl::Status CheckImageTag(absl::string_view tag) {
  bool ok = !tag.empty() && tag.size() <= 128 && tag.front() != '.' && tag.front() != '-';
  for (char c : tag) ok = ok && (absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("tag \"", absl::CHexEscape(tag),
                                                 "\": letters, digits, '_', '.' and '-', at most 128, not starting "
                                                 "with '.' or '-'"));
}

}  // namespace herd::k8s
