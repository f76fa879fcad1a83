// The bearer token of a client: fixed, or read from a file that is re-read
// when it changes (projected service account tokens are rotated in place).
#ifndef HERD_SERVER_KUBE_INTERNAL_TOKEN_SOURCE_H_
#define HERD_SERVER_KUBE_INTERNAL_TOKEN_SOURCE_H_

#include <sys/types.h>

#include <ctime>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace herd::kube::internal {

class TokenSource {
 public:
  // `file` empty: always `token`. Otherwise `token` is used until the file
  // has been read once.
  TokenSource(std::string token, std::string file);

  // The current token; re-reads the file when its mtime, size or inode
  // changed since the last read. Thread-safe.
  std::string Token();
  // Re-reads the file whatever its mtime (after a 401); true when the token
  // changed. Thread-safe.
  bool Refresh();
  bool from_file() const { return !file_.empty(); }

 private:
  struct FileId {
    timespec mtime{};
    off_t size = -1;
    ino_t inode = 0;
    bool operator==(const FileId& o) const {
      return mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec && size == o.size &&
             inode == o.inode;
    }
  };
  // Reads the file into token_; false when unreadable (the old token stays).
  bool ReadLocked(const FileId& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string file_;
  absl::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  FileId seen_ ABSL_GUARDED_BY(mu_);
  bool warned_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace herd::kube::internal

#endif  // HERD_SERVER_KUBE_INTERNAL_TOKEN_SOURCE_H_
