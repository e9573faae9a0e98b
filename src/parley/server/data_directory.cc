// parleyd's data directory: private creation, atomic writes, persistent secrets.
#include "parley/server/data_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "parley/crypto/encoding.h"

namespace parley::server {
namespace {

std::string Why() { return std::strerror(errno); }

}  // namespace

Result<DataDirectory> DataDirectory::Open(const std::string& path) {
  if (path.empty()) return Error{"the data directory path is empty; pass --data DIR."};
  std::error_code ec;
  std::string normalised = path;
  while (normalised.size() > 1 && normalised.back() == '/') normalised.pop_back();
  if (!std::filesystem::exists(normalised, ec)) {
    const std::filesystem::path parent = std::filesystem::path(normalised).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec || (::mkdir(normalised.c_str(), 0700) != 0 && errno != EEXIST)) {
      return Error{"cannot create the data directory " + normalised + " (" + (ec ? ec.message() : Why()) +
                   "); check the path and its parent's permissions."};
    }
  }
  if (!std::filesystem::is_directory(normalised, ec)) {
    return Error{"the data directory " + normalised + " exists but is not a directory; pass another --data."};
  }
  if (::access(normalised.c_str(), W_OK | X_OK) != 0) {
    return Error{"the data directory " + normalised + " is not writable (" + Why() +
                 "); fix its permissions or pass another --data."};
  }
  return DataDirectory(normalised);
}

bool DataDirectory::Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> DataDirectory::ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot read " + path + " (" + Why() + "); check that it exists and is readable."};
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = Why();
      ::close(fd);
      return Error{"cannot read " + path + " (" + why + ")."};
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (16u << 20)) {
      ::close(fd);
      return Error{path + " is larger than 16 MiB; it is not a file parleyd wrote."};
    }
  }
  ::close(fd);
  return out;
}

Status DataDirectory::WriteFileAtomically(const std::string& path, std::string_view contents, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Error{"cannot write " + tmp + " (" + Why() + "); check the directory's permissions."};
  // The umask may have narrowed the mode; a key file must end up exactly as asked.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const std::string why = ok ? "" : Why();
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = ok ? Why() : why;
    ::unlink(tmp.c_str());
    return Error{"cannot write " + path + " (" + reason + "); check free space and permissions."};
  }
  // Make the rename itself durable.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Ok{};
}

Result<crypto::Secret<32>> DataDirectory::LoadOrCreateTicketKey(crypto::KeySource& random) const {
  const std::string path = File("relay_ticket.key");
  if (Exists(path)) {
    auto bytes = ReadFile(path);
    if (!bytes) return bytes.error();
    if (bytes->size() != 32) {
      return Error{path + " holds " + std::to_string(bytes->size()) +
                   " bytes, not 32; restore it from a backup or delete it to make a new key "
                   "(calls in progress then lose their relay)."};
    }
    ::chmod(path.c_str(), 0600);  // narrow a key someone made readable
    crypto::Secret<32> key(std::span<const uint8_t, 32>(reinterpret_cast<const uint8_t*>(bytes->data()), 32));
    sodium_memzero(bytes->data(), bytes->size());
    return key;
  }
  std::array<uint8_t, 32> fresh{};
  random.Fill(fresh);
  crypto::Secret<32> key{std::span<const uint8_t, 32>(fresh)};
  const Status written =
      WriteFileAtomically(path, std::string_view(reinterpret_cast<const char*>(fresh.data()), fresh.size()), 0600);
  sodium_memzero(fresh.data(), fresh.size());
  if (!written) return written.error();
  return key;
}

Result<std::string> DataDirectory::LoadOrCreateWebsocketPath(crypto::KeySource& random) const {
  const std::string path = File("websocket_path");
  if (Exists(path)) {
    auto text = ReadFile(path);
    if (!text) return text.error();
    std::string line = *text;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.size() < 2 || line[0] != '/' || line.find_first_of(" \t\r\n") != std::string::npos) {
      return Error{path + " does not hold a path starting with /; delete it to generate a new one "
                   "(clients then need the new path)."};
    }
    return line;
  }
  std::array<uint8_t, 16> bytes{};
  random.Fill(bytes);
  const std::string ws_path = "/ws/" + crypto::ToBase64(bytes);
  const Status written = WriteFileAtomically(path, ws_path + "\n", 0600);
  if (!written) return written.error();
  return ws_path;
}

}  // namespace parley::server
