// Certificates made on the spot: a CA and the certificates it signs, as PEM.
// kubesim uses them to serve TLS without files prepared beforehand, and the
// tests use them for TLS and client-certificate cases.
//
//   auto ca = herd::tls::MakeCa("kubesim-ca");
//   auto server = herd::tls::IssueCert(*ca, "kubesim", {"127.0.0.1", "localhost"});
//   auto client = herd::tls::IssueCert(*ca, "alice", {}, /*client=*/true);
#ifndef HERD_COMMON_TLS_CERTS_H_
#define HERD_COMMON_TLS_CERTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace herd::tls {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed CA certificate (EC P-256, valid for a year).
absl::StatusOr<KeyPair> MakeCa(const std::string& common_name);

// A certificate signed by `ca`. `sans` are IP addresses or DNS names; a
// client certificate gets the clientAuth usage, a server one serverAuth.
absl::StatusOr<KeyPair> IssueCert(const KeyPair& ca, const std::string& common_name,
                                  const std::vector<std::string>& sans, bool client = false);

}  // namespace herd::tls

#endif  // HERD_COMMON_TLS_CERTS_H_
