// Command-line flags for herd's daemons, on absl flags, accepting the
// dashed spelling the outside contract uses (--kubeconfig-out) as well as
// absl's own (--kubeconfig_out).
//
//   ABSL_FLAG(std::string, kubeconfig_out, "", "…");
//   int main(int argc, char** argv) {
//     std::vector<std::string> args = herd::ParseFlags(argc, argv, "kubesim [flags]");
#ifndef HERD_COMMON_FLAGS_FLAGS_H_
#define HERD_COMMON_FLAGS_FLAGS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace herd {

// Parses the flags (exits with a message on a bad one, as absl does) and
// returns the positional arguments after the program name.
std::vector<std::string> ParseFlags(int argc, char** argv, const char* usage);

// Whether --help lists the flags defined in `filename`: every flag of
// herd's own code does, absl's own (--flagfile, --fromenv, …) do not and
// stay under --helpfull. absl's default lists only flags of a file named
// after the program, which none of herd's mains is.
bool IsOwnFlagFile(absl::string_view filename);

// "--kubeconfig-out=x" → "--kubeconfig_out=x"; anything else unchanged.
std::string DashedFlagToAbsl(const std::string& arg);

}  // namespace herd

#endif  // HERD_COMMON_FLAGS_FLAGS_H_
