// The link between one request and the connection it came on, behind a
// Responder. The server implements it per request; tests and fuzz targets
// implement it to call a Handler without a socket.
#ifndef HERD_COMMON_HTTP_INTERNAL_EXCHANGE_H_
#define HERD_COMMON_HTTP_INTERNAL_EXCHANGE_H_

#include <memory>

#include "common/http/http.h"

namespace herd::http::internal {

// Answered at most once: the Responder calls one of the two, once.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void Respond(Response response) = 0;
  virtual std::shared_ptr<Stream> StartStream(int status, Headers headers) = 0;
};

}  // namespace herd::http::internal

#endif  // HERD_COMMON_HTTP_INTERNAL_EXCHANGE_H_
