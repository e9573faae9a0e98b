// The built web app (`make web` writes build/web) read into memory at start, so that
// serving it is logic without I/O and a half-written rebuild is never half-served.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::server {

struct WebAppFile {
  std::string content;
  int64_t modified_unix_s = 0;  // the file's mtime, for Last-Modified and ETag
};

// Immutable after Load; any thread. Files added to the directory later are served
// after a restart of parleyd.
class WebAppFiles {
 public:
  static constexpr size_t kMaxFiles = 4096;
  static constexpr size_t kMaxTotalBytes = 64 << 20;

  // Reads every regular file under `dir` (symbolic links and dot files are skipped).
  // Errors, one sentence naming the directory: missing or unreadable, no index.html,
  // more than kMaxFiles files or kMaxTotalBytes bytes.
  static Result<WebAppFiles> Load(const std::string& dir);
  // For tests: files given directly, by relative path ("index.html", "assets/a.js").
  static WebAppFiles FromMap(std::map<std::string, WebAppFile, std::less<>> files);

  // By relative path; null if there is no such file.
  const WebAppFile* Find(std::string_view relative_path) const;
  size_t file_count() const { return files_.size(); }
  size_t total_bytes() const;

 private:
  std::map<std::string, WebAppFile, std::less<>> files_;
};

}  // namespace parley::server
