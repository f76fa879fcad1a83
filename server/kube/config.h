// Where and how to reach a Kubernetes API server, the way client-go's
// rest.Config does it: from kubeconfig files or from inside a pod.
//
//   auto config = herd::kube::LoadKubeconfig({.context = "staging"});
//   if (!config.ok()) return config.status();
//   auto client = herd::kube::NewRestClient(*config, {});
//
//   auto in_cluster = herd::kube::InClusterConfig({});  // in a pod
//
//   auto from_text = herd::kube::ParseKubeconfig(yaml, {.source = "secret kubeconfig"});
//
// Every function here is thread-safe and reads files only when called.
#ifndef HERD_SERVER_KUBE_CONFIG_H_
#define HERD_SERVER_KUBE_CONFIG_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace herd::kube {

struct RestConfig {
  std::string server;  // "https://10.0.0.1:6443" (may carry a path prefix)

  // TLS. PEM data, not file names: files are read when the config is built.
  std::string ca_pem;  // empty: the system roots
  bool insecure_skip_tls_verify = false;
  // The name the server certificate is checked against (and sent as SNI)
  // when it differs from the host in `server`.
  std::string tls_server_name;
  std::string client_cert_pem;
  std::string client_key_pem;

  // Authentication; at most one of token / basic is used (token first).
  std::string bearer_token;
  // Re-read when it changes (projected service account tokens rotate);
  // takes precedence over `bearer_token` once readable.
  std::string bearer_token_file;
  std::string username;
  std::string password;

  std::string default_namespace = "default";

  // Client-side rate limit: requests per second and burst; qps <= 0 means
  // unlimited. Higher than client-go's 5/10: herd is the only client of its
  // identity and bursts of pod deletions are its job.
  double qps = 100;
  int burst = 200;
  // Per request (not per watch); zero: the client's default.
  absl::Duration timeout = absl::ZeroDuration();
  std::string user_agent = "herd/0.1";
};

// Reads an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads a file a kubeconfig names (certificate-authority, tokenFile, …),
// with an error that names `what` and the path.
using FileReader = std::function<absl::StatusOr<std::string>(const std::string& path, absl::string_view what)>;

struct KubeconfigOptions {
  // A single file. Empty: $KUBECONFIG (several files joined with ':'), else
  // ~/.kube/config.
  std::string path;
  // Empty: the file's current-context.
  std::string context;
  // The environment (KUBECONFIG, HOME); null: the process environment.
  EnvLookup env;
};

// Builds a RestConfig from kubeconfig files. With several files the first
// to set a value wins (client-go's merge): current-context, and each named
// cluster, user and context as a whole. Missing files in $KUBECONFIG are
// skipped; an explicit `path` must exist. Relative file names inside a file
// are relative to that file's directory.
//
// Errors: NOT_FOUND (no file, unknown context), INVALID_ARGUMENT (malformed
// YAML or base64, missing server, context without cluster or user),
// UNIMPLEMENTED (exec plugins and auth providers, named in the message),
// PERMISSION_DENIED / other codes for files that cannot be read.
absl::StatusOr<RestConfig> LoadKubeconfig(const KubeconfigOptions& options = {});

struct KubeconfigTextOptions {
  // Names the text in messages; relative file names inside it resolve
  // against its directory (a bare name: the working directory).
  std::string source = "kubeconfig";
  // Empty: the text's current-context.
  std::string context;
  // Reads the files the text names; null: the file system.
  FileReader read_file;
};

// Builds a RestConfig from the text of one kubeconfig (what LoadKubeconfig
// does with each file), with LoadKubeconfig's errors. Any text is safe to
// pass: malformed YAML is INVALID_ARGUMENT.
absl::StatusOr<RestConfig> ParseKubeconfig(absl::string_view text, const KubeconfigTextOptions& options = {});

struct InClusterOptions {
  // Prepended to /var/run/secrets/kubernetes.io/serviceaccount (tests).
  std::string root_dir;
  // KUBERNETES_SERVICE_HOST / _PORT; null: the process environment.
  EnvLookup env;
};

// The config of a pod's service account: the API server from
// KUBERNETES_SERVICE_HOST/PORT, the token (re-read as it rotates), ca.crt
// and the pod's namespace. FAILED_PRECONDITION when not in a cluster.
absl::StatusOr<RestConfig> InClusterConfig(const InClusterOptions& options = {});

// The directory of service account files inside a pod.
inline constexpr absl::string_view kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_CONFIG_H_
