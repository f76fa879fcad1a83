#include "common/http/client.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace herd::http {
namespace {

size_t OnBody(char* p, size_t size, size_t n, void* ud) {
  static_cast<PostResult*>(ud)->body.append(p, size * n);
  return size * n;
}

size_t OnHeader(char* p, size_t size, size_t n, void* ud) {
  absl::string_view line(p, size * n);
  if (absl::StartsWithIgnoreCase(line, "retry-after:")) {
    static_cast<PostResult*>(ud)->retry_after = std::string(absl::StripAsciiWhitespace(line.substr(12)));
  }
  return size * n;
}

}  // namespace

PostResult Post(const std::string& url, const std::string& body, const std::vector<std::string>& headers,
                absl::Duration timeout) {
  static std::once_flag once;
  // curl_global_init is not thread-safe and must come before any handle.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  PostResult r;
  CURL* h = curl_easy_init();
  if (h == nullptr) {
    r.error = "no curl handle";
    return r;
  }
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  struct curl_slist* list = nullptr;
  for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
  if (list != nullptr) curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) r.error = curl_easy_strerror(code);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  return r;
}

}  // namespace herd::http
