#include "common/testing/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

namespace herd::testing {
namespace {

struct Sink {
  const FetchRequest* req;
  FetchResponse* res;
};

size_t OnBody(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  std::string chunk(p, size * n);
  s->res->body += chunk;
  if (s->req->on_data && !s->req->on_data(chunk)) return 0;
  return size * n;
}

size_t OnHeader(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<Sink*>(ud);
  std::string line(p, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    s->res->headers[name] = value;
  }
  return size * n;
}

}  // namespace

FetchResponse Fetch(const FetchRequest& request) {
  FetchResponse res;
  CURL* h = curl_easy_init();
  Sink sink{&request, &res};
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);  // else curl waits for the body
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!request.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  struct curl_slist* headers = nullptr;
  bool has_ct = false;
  for (const auto& hd : request.headers) {
    headers = curl_slist_append(headers, hd.c_str());
    if (hd.rfind("Content-Type:", 0) == 0) has_ct = true;
  }
  if (!has_ct && !request.body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && request.on_data)) res.error = curl_easy_strerror(code);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  return res;
}

}  // namespace herd::testing
