// WebAppFiles: one walk of the app directory at start.
#include "parley/server/web_app_files.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace parley::server {

Result<WebAppFiles> WebAppFiles::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error{"the web app directory " + dir + " does not exist: run `make web` (it writes build/web) or "
                 "point web.app_dir at the built app"};
  }
  WebAppFiles out;
  size_t total = 0;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const std::string relative = fs::relative(path, dir, ec).generic_string();
    if (ec) break;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in) return Error{"cannot read " + path.string() + " of the web app: check its permissions"};
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return Error{"cannot read " + path.string() + " of the web app"};
    WebAppFile file{bytes.str(), static_cast<int64_t>(st.st_mtime)};
    total += file.content.size();
    if (out.files_.size() + 1 > kMaxFiles || total > kMaxTotalBytes) {
      return Error{"the web app directory " + dir + " holds more than " + std::to_string(kMaxFiles) +
                   " files or 64 MiB: point web.app_dir at the built app only"};
    }
    out.files_.emplace(relative, std::move(file));
  }
  if (ec) return Error{"cannot read the web app directory " + dir + " (" + ec.message() + ")"};
  if (out.Find("index.html") == nullptr) {
    return Error{"the web app directory " + dir + " has no index.html: run `make web` to build the app there"};
  }
  return out;
}

WebAppFiles WebAppFiles::FromMap(std::map<std::string, WebAppFile, std::less<>> files) {
  WebAppFiles out;
  out.files_ = std::move(files);
  return out;
}

const WebAppFile* WebAppFiles::Find(std::string_view relative_path) const {
  auto it = files_.find(relative_path);
  return it == files_.end() ? nullptr : &it->second;
}

size_t WebAppFiles::total_bytes() const {
  size_t total = 0;
  for (const auto& [path, file] : files_) total += file.content.size();
  return total;
}

}  // namespace parley::server
