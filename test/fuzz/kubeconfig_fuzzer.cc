// kubeconfig text (YAML) into RestConfig: ParseKubeconfig must answer any
// text with a config or a status, never crash or throw. Files the text names
// are "read" from the input itself, never from the machine's disk.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "server/kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  // A path containing "missing" is not there; any other holds the text
  // itself (PEM or token data as far as the parser knows).
  herd::kube::FileReader reader = [text](const std::string& path,
                                         absl::string_view what) -> absl::StatusOr<std::string> {
    if (absl::StrContains(path, "missing")) return absl::NotFoundError(std::string(what));
    return std::string(text.substr(0, 256));
  };
  for (const char* context : {"", "fuzz"}) {
    absl::StatusOr<herd::kube::RestConfig> c =
        herd::kube::ParseKubeconfig(text, {.source = "dir/fuzz.kubeconfig", .context = context, .read_file = reader});
    if (c.ok() && c->server.empty()) __builtin_trap();  // a config always has a server
  }
  return 0;
}
