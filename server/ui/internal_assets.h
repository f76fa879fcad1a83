// The dashboard's files, embedded at build time by embed_assets.cmake from
// server/ui/assets/.
#ifndef HERD_SERVER_UI_INTERNAL_ASSETS_H_
#define HERD_SERVER_UI_INTERNAL_ASSETS_H_

#include <cstddef>

namespace herd::ui::internal {

struct Asset {
  const char* path;          // "/ui/app.js"; the page is "/ui/index.html"
  const char* content_type;  // "text/javascript; charset=utf-8"
  const unsigned char* data;
  size_t size;
  const char* etag;  // "\"<sha256 of the bytes>\"", made at build time
};

extern const Asset kAssets[];
extern const size_t kAssetCount;

}  // namespace herd::ui::internal

#endif  // HERD_SERVER_UI_INTERNAL_ASSETS_H_
