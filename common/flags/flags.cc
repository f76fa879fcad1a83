#include "common/flags/flags.h"

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace herd {

std::string DashedFlagToAbsl(const std::string& arg) {
  if (arg.size() < 3 || arg[0] != '-' || arg == "--") return arg;
  size_t start = arg[1] == '-' ? 2 : 1;
  size_t end = arg.find('=');
  if (end == std::string::npos) end = arg.size();
  std::string out = arg;
  for (size_t i = start; i < end; ++i) {
    if (out[i] == '-') out[i] = '_';
  }
  return out;
}

bool IsOwnFlagFile(absl::string_view filename) { return !absl::StrContains(filename, "absl/"); }

std::vector<std::string> ParseFlags(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view f) { return IsOwnFlagFile(f); };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  std::vector<std::string> storage;
  storage.reserve(static_cast<size_t>(argc));
  bool rest = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i > 0 && !rest) {
      if (a == "--") rest = true;
      a = DashedFlagToAbsl(a);
    }
    storage.push_back(std::move(a));
  }
  std::vector<char*> ptrs;
  for (auto& s : storage) ptrs.push_back(s.data());
  ptrs.push_back(nullptr);
  std::vector<char*> positional = absl::ParseCommandLine(argc, ptrs.data());
  std::vector<std::string> out;
  for (size_t i = 1; i < positional.size(); ++i) out.emplace_back(positional[i]);
  return out;
}

}  // namespace herd
