#include "server/kube/config.h"

#include <cstdlib>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "common/files/files.h"
#include "yaml-cpp/yaml.h"

namespace herd::kube {
namespace {

std::optional<std::string> Getenv(const EnvLookup& env, const std::string& name) {
  if (env) return env(name);
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// One named entry (cluster, user or context) and the directory of the file
// it came from, against which its relative paths resolve.
struct Entry {
  YAML::Node node;
  std::string dir;
  std::string file;
};

struct Merged {
  std::string current_context;
  std::map<std::string, Entry> clusters, users, contexts;
  int files = 0;
};

std::string Str(const YAML::Node& parent, const char* key) {
  YAML::Node n = parent[key];
  if (!n || n.IsNull()) return "";
  if (!n.IsScalar()) throw YAML::Exception(n.Mark(), absl::StrCat("\"", key, "\" must be a string"));
  return n.as<std::string>();
}

bool Bool(const YAML::Node& parent, const char* key) {
  YAML::Node n = parent[key];
  if (!n || n.IsNull()) return false;
  return n.as<bool>();
}

// Adds the named entries of `list` (clusters:, users:, contexts:) that are
// not known yet: the first file to name an entry owns all of it.
void MergeList(const YAML::Node& list, const char* inner, const std::string& file, std::map<std::string, Entry>& out) {
  if (!list || list.IsNull()) return;
  if (!list.IsSequence()) throw YAML::Exception(list.Mark(), "expected a list");
  for (const YAML::Node& item : list) {
    std::string name = Str(item, "name");
    if (name.empty()) continue;
    if (out.count(name) != 0) continue;
    YAML::Node body = item[inner];
    out.emplace(name, Entry{body ? body : YAML::Node(YAML::NodeType::Map), files::DirName(file), file});
  }
}

absl::Status MergeFile(const std::string& file, const std::string& text, Merged& merged) {
  try {
    YAML::Node root = YAML::Load(text);
    ++merged.files;
    if (!root || root.IsNull()) return absl::OkStatus();  // an empty file adds nothing
    if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", file, ": not a YAML mapping"));
    if (merged.current_context.empty()) merged.current_context = Str(root, "current-context");
    MergeList(root["clusters"], "cluster", file, merged.clusters);
    MergeList(root["users"], "user", file, merged.users);
    MergeList(root["contexts"], "context", file, merged.contexts);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", file, ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DecodeBase64(absl::string_view field, absl::string_view name, absl::string_view data) {
  std::string compact;
  compact.reserve(data.size());
  for (char c : data) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  }
  std::string out;
  if (!absl::Base64Unescape(compact, &out)) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", name, ": ", field, " is not valid base64"));
  }
  return out;
}

// `data_key` (base64) wins over `file_key` (a path), as in client-go.
absl::StatusOr<std::string> DataOrFile(const Entry& e, absl::string_view name, const char* data_key,
                                       const char* file_key, const FileReader& read_file) {
  std::string data = Str(e.node, data_key);
  if (!data.empty()) return DecodeBase64(data_key, name, data);
  std::string file = Str(e.node, file_key);
  if (file.empty()) return std::string();
  return read_file(files::ResolvePath(e.dir, file), absl::StrCat(name, " ", file_key));
}

absl::StatusOr<RestConfig> Build(const Merged& m, const std::string& context_override, const FileReader& read_file) {
  std::string context_name = context_override.empty() ? m.current_context : context_override;
  if (context_name.empty()) {
    return absl::FailedPreconditionError("kubeconfig has no current-context and none was asked for");
  }
  auto ctx_it = m.contexts.find(context_name);
  if (ctx_it == m.contexts.end()) {
    return absl::NotFoundError(absl::StrCat("context \"", context_name, "\" not found in kubeconfig"));
  }
  const YAML::Node& ctx = ctx_it->second.node;
  std::string cluster_name = Str(ctx, "cluster");
  std::string user_name = Str(ctx, "user");
  auto cl_it = m.clusters.find(cluster_name);
  if (cluster_name.empty() || cl_it == m.clusters.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("context \"", context_name, "\": cluster \"", cluster_name, "\" not found in kubeconfig"));
  }

  RestConfig c;
  std::string ns = Str(ctx, "namespace");
  if (!ns.empty()) c.default_namespace = ns;

  const Entry& cl = cl_it->second;
  std::string cl_label = absl::StrCat("cluster \"", cluster_name, "\"");
  c.server = Str(cl.node, "server");
  if (c.server.empty()) return absl::InvalidArgumentError(absl::StrCat("kubeconfig ", cl_label, " has no server"));
  c.insecure_skip_tls_verify = Bool(cl.node, "insecure-skip-tls-verify");
  c.tls_server_name = Str(cl.node, "tls-server-name");
  auto ca = DataOrFile(cl, cl_label, "certificate-authority-data", "certificate-authority", read_file);
  if (!ca.ok()) return ca.status();
  c.ca_pem = std::move(*ca);
  if (c.insecure_skip_tls_verify && !c.ca_pem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kubeconfig ", cl_label, ": a certificate authority together with insecure-skip-tls-verify is not allowed"));
  }

  if (!user_name.empty()) {
    auto u_it = m.users.find(user_name);
    if (u_it == m.users.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("context \"", context_name, "\": user \"", user_name, "\" not found in kubeconfig"));
    }
    const Entry& u = u_it->second;
    std::string u_label = absl::StrCat("user \"", user_name, "\"");
    if (u.node["exec"]) {
      std::string command = u.node["exec"].IsMap() ? Str(u.node["exec"], "command") : "";
      return absl::UnimplementedError(absl::StrCat("kubeconfig ", u_label, " uses an exec credential plugin (",
                                                   command, "), which herd does not support; ",
                                                   "use a token, token file or client certificate"));
    }
    if (u.node["auth-provider"]) {
      std::string provider = u.node["auth-provider"].IsMap() ? Str(u.node["auth-provider"], "name") : "";
      return absl::UnimplementedError(absl::StrCat("kubeconfig ", u_label, " uses the auth provider \"", provider,
                                                   "\", which herd does not support; ",
                                                   "use a token, token file or client certificate"));
    }
    c.bearer_token = Str(u.node, "token");
    std::string token_file = Str(u.node, "tokenFile");
    if (!token_file.empty()) {
      c.bearer_token_file = files::ResolvePath(u.dir, token_file);
      // Read now so that a bad path fails here rather than on the first call.
      auto token = read_file(c.bearer_token_file, absl::StrCat(u_label, " tokenFile"));
      if (!token.ok()) return token.status();
      c.bearer_token = std::string(absl::StripAsciiWhitespace(*token));
    }
    auto cert = DataOrFile(u, u_label, "client-certificate-data", "client-certificate", read_file);
    if (!cert.ok()) return cert.status();
    auto key = DataOrFile(u, u_label, "client-key-data", "client-key", read_file);
    if (!key.ok()) return key.status();
    if (cert->empty() != key->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("kubeconfig ", u_label, ": a client certificate needs both certificate and key"));
    }
    c.client_cert_pem = std::move(*cert);
    c.client_key_pem = std::move(*key);
    c.username = Str(u.node, "username");
    c.password = Str(u.node, "password");
  }
  return c;
}

// YAML's exceptions end here.
absl::StatusOr<RestConfig> BuildCatching(const Merged& m, const std::string& context_override,
                                         const FileReader& read_file) {
  try {
    return Build(m, context_override, read_file);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("kubeconfig: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<RestConfig> LoadKubeconfig(const KubeconfigOptions& options) {
  std::vector<std::string> files;
  bool explicit_files = true;
  if (!options.path.empty()) {
    files.push_back(options.path);
  } else if (auto env = Getenv(options.env, "KUBECONFIG"); env && !env->empty()) {
    for (absl::string_view f : absl::StrSplit(*env, ':', absl::SkipEmpty())) files.emplace_back(f);
    explicit_files = false;
  } else {
    auto home = Getenv(options.env, "HOME");
    if (!home || home->empty()) return absl::NotFoundError("no kubeconfig: neither KUBECONFIG nor HOME is set");
    files.push_back(absl::StrCat(*home, "/.kube/config"));
  }

  Merged merged;
  for (const std::string& file : files) {
    if (!explicit_files && !files::FileExists(file)) continue;  // client-go skips them too
    auto text = files::ReadFile(file, "kubeconfig");
    if (!text.ok()) return text.status();
    if (auto st = MergeFile(file, *text, merged); !st.ok()) return st;
  }
  if (merged.files == 0) {
    return absl::NotFoundError(absl::StrCat("no kubeconfig: none of ", absl::StrJoin(files, ":"), " exists"));
  }
  return BuildCatching(merged, options.context, files::ReadFile);
}

absl::StatusOr<RestConfig> ParseKubeconfig(absl::string_view text, const KubeconfigTextOptions& options) {
  Merged merged;
  if (auto st = MergeFile(options.source, std::string(text), merged); !st.ok()) return st;
  return BuildCatching(merged, options.context, options.read_file ? options.read_file : FileReader(files::ReadFile));
}

absl::StatusOr<RestConfig> InClusterConfig(const InClusterOptions& options) {
  auto host = Getenv(options.env, "KUBERNETES_SERVICE_HOST");
  auto port = Getenv(options.env, "KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return absl::FailedPreconditionError(
        "not running in a Kubernetes cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  RestConfig c;
  // An IPv6 address needs brackets in a URL.
  std::string h = host->find(':') != std::string::npos ? absl::StrCat("[", *host, "]") : *host;
  c.server = absl::StrCat("https://", h, ":", *port);

  std::string dir = absl::StrCat(options.root_dir, kServiceAccountDir);
  c.bearer_token_file = absl::StrCat(dir, "/token");
  auto token = files::ReadFile(c.bearer_token_file, "service account token");
  if (!token.ok()) return token.status();
  c.bearer_token = std::string(absl::StripAsciiWhitespace(*token));

  auto ca = files::ReadFile(absl::StrCat(dir, "/ca.crt"), "service account CA");
  if (ca.ok()) {
    c.ca_pem = std::move(*ca);
  } else {
    // client-go goes on with the system roots; so do we, but say so.
    log::Warn("in-cluster CA not readable, using the system roots", {{"error", ca.status()}});
  }
  auto ns = files::ReadFile(absl::StrCat(dir, "/namespace"), "service account namespace");
  if (ns.ok()) {
    std::string trimmed(absl::StripAsciiWhitespace(*ns));
    if (!trimmed.empty()) c.default_namespace = std::move(trimmed);
  }
  return c;
}

}  // namespace herd::kube
