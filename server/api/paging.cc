#include "server/api/paging.h"

#include <algorithm>

#include "absl/strings/numbers.h"

namespace herd::api {

Page PageOf(size_t total, absl::string_view token, int32_t page_size) {
  uint64_t offset = 0;
  if (!absl::SimpleAtoi(token, &offset)) offset = 0;
  const size_t size = static_cast<size_t>(page_size > 0 ? std::min(page_size, kMaxPageSize) : kDefaultPageSize);
  Page page;
  // In size_t, and the offset clamped first: any token a client sends (up
  // to 2^64-1) stays in range.
  page.begin = static_cast<size_t>(std::min<uint64_t>(offset, total));
  page.end = page.begin + std::min(size, total - page.begin);
  if (page.end < total) page.next_token = std::to_string(page.end);
  return page;
}

}  // namespace herd::api
