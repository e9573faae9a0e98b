// Profile file I/O with POSIX calls: the guarantees (0600 at creation, fsync, rename)
// are not expressible through std::filesystem or iostreams.
#include "parley/crypto/profile_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace parley::crypto {
namespace {

Error SystemError(std::string_view what, const std::filesystem::path& path, int err) {
  return Error{std::string(what) + " " + path.string() + ": " + std::strerror(err)};
}

// Closes a descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

Status EnsurePrivateDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::is_directory(dir, ec)) {
      return Error{"profile path " + dir.string() + " exists but is not a directory"};
    }
    return Ok{};
  }
  if (dir.has_parent_path() && !dir.parent_path().empty()) {
    std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) return Error{"cannot create " + dir.parent_path().string() + ": " + ec.message()};
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return SystemError("cannot create profile directory", dir, errno);
  }
  return Ok{};
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmp_name = path.string() + ".tmp-XXXXXX";
  std::vector<char> tmpl(tmp_name.begin(), tmp_name.end());
  tmpl.push_back('\0');
  // mkstemp creates the file with mode 0600 and O_EXCL, so no one else can open it.
  Fd fd(::mkstemp(tmpl.data()));
  if (fd.get() < 0) return SystemError("cannot create a temporary file next to", path, errno);
  const std::filesystem::path tmp_path(tmpl.data());
  auto fail = [&](std::string_view what) {
    int err = errno;
    ::unlink(tmp_path.c_str());
    return SystemError(what, path, err);
  };
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot flush");
  if (::close(fd.release()) != 0) return fail("cannot close");
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) return fail("cannot replace");
  // The rename is durable only once the directory entry is on disk.
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) {
    return SystemError("cannot flush the directory of", path, errno);
  }
  return Ok{};
}

Result<std::string> ReadSmallFile(const std::filesystem::path& path, std::size_t max_size,
                                  bool* not_found) {
  if (not_found) *not_found = false;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT && not_found) *not_found = true;
    return SystemError("cannot open", path, errno);
  }
  std::string out;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SystemError("cannot read", path, errno);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > max_size) {
      return Error{path.string() + " is larger than " + std::to_string(max_size) +
                   " bytes; it is not a Parley profile file"};
    }
  }
  return out;
}

Status CheckOwnerOnly(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return SystemError("cannot stat", path, errno);
  if ((st.st_mode & 077) != 0) {
    return Error{path.string() + " is accessible by other users; run `chmod 600 " + path.string() +
                 "` (and consider the key compromised if others could read it)"};
  }
  return Ok{};
}

}  // namespace parley::crypto
