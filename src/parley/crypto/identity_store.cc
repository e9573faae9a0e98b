// Trust-on-first-use store of peer identity keys, and its text file.
#include "parley/crypto/identity_store.h"

#include <sodium.h>

#include <algorithm>

#include "parley/crypto/encoding.h"
#include "parley/crypto/profile_files.h"

namespace parley::crypto {
namespace {

constexpr std::string_view kHeader = "parley-known-peers 1";
constexpr std::size_t kMaxFileSize = 4 << 20;

bool Unreserved(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '@' || c == '+';
}

// Percent-encoding (RFC 3986 §2.1) of every byte outside the unreserved set, so a
// field never contains a space, a newline or a '%' of its own.
std::string Escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (Unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Result<std::string> Unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      if (i + 2 >= text.size()) return Error{"a '%' escape is cut short"};
      const int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return Error{"a '%' is not followed by two hex digits"};
      out += static_cast<char>(hi << 4 | lo);
      i += 2;
    } else if (Unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      return Error{"a name contains a character that must be %-escaped"};
    }
  }
  if (out.empty() || out.size() > 255) return Error{"user and device names must be 1 to 255 bytes"};
  return out;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

bool ValidName(const std::string& name) { return !name.empty() && name.size() <= 255; }

}  // namespace

Result<IdentityStore> IdentityStore::Parse(std::string_view text) {
  if (text.size() > kMaxFileSize) return Error{"known_peers is larger than 4 MiB; it is not a Parley file"};
  std::vector<std::string_view> lines = Split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline
  if (lines.empty() || lines[0] != kHeader) {
    return Error{"known_peers line 1: expected \"" + std::string(kHeader) + "\""};
  }
  IdentityStore store;
  for (std::size_t n = 1; n < lines.size(); ++n) {
    const std::string where = "known_peers line " + std::to_string(n + 1) + ": ";
    std::vector<std::string_view> fields = Split(lines[n], ' ');
    if (fields.size() != 4) return Error{where + "expected 4 fields: USER DEVICE KEY tofu|verified"};
    auto user = Unescape(fields[0]);
    if (!user.ok()) return Error{where + user.error().message};
    auto device = Unescape(fields[1]);
    if (!device.ok()) return Error{where + device.error().message};
    auto key = FromHex(fields[2]);
    if (!key.ok() || key->size() != 32) return Error{where + "the key must be 64 hex digits"};
    if (fields[3] != "tofu" && fields[3] != "verified") return Error{where + "trust must be tofu or verified"};
    KnownDevice entry{*user, *device, {}, fields[3] == "verified"};
    std::copy(key->begin(), key->end(), entry.key.begin());
    if (!store.devices_.emplace(Key{entry.user, entry.device}, entry).second) {
      return Error{where + "this user and device already appear on an earlier line"};
    }
  }
  return store;
}

std::string IdentityStore::Serialize() const {
  std::string out(kHeader);
  out += '\n';
  for (const auto& [key, d] : devices_) {
    out += Escape(d.user) + ' ' + Escape(d.device) + ' ' + ToHex(d.key) + ' ' + (d.verified ? "verified" : "tofu");
    out += '\n';
  }
  return out;
}

Result<IdentityStore> IdentityStore::Open(const std::filesystem::path& profile_dir) {
  if (auto status = EnsurePrivateDirectory(profile_dir); !status.ok()) return status.error();
  const std::filesystem::path path = profile_dir / kFileName;
  bool not_found = false;
  auto text = ReadSmallFile(path, kMaxFileSize, &not_found);
  IdentityStore store;
  if (!text.ok()) {
    if (!not_found) return text.error();
  } else {
    auto parsed = Parse(*text);
    if (!parsed.ok()) {
      return Error{path.string() + ": " + parsed.error().message +
                   ". The file was left as it is; fix or remove that line"};
    }
    store = std::move(*parsed);
  }
  store.path_ = path;
  return store;
}

bool IdentityStore::UserVerified(const std::string& user) const {
  for (auto it = devices_.lower_bound(Key{user, ""}); it != devices_.end() && it->first.first == user; ++it) {
    if (it->second.verified) return true;
  }
  return false;
}

PeerCheck IdentityStore::Check(const std::string& user, const std::string& device,
                               const IdentityPublicKey& key) const {
  PeerCheck check;
  check.user_verified = UserVerified(user);
  auto it = devices_.find(Key{user, device});
  if (it == devices_.end()) {
    auto any = devices_.lower_bound(Key{user, ""});
    const bool user_known = any != devices_.end() && any->first.first == user;
    check.status = user_known ? PeerKeyStatus::kNewDevice : PeerKeyStatus::kFirstContact;
    return check;
  }
  if (sodium_memcmp(it->second.key.data(), key.data(), key.size()) == 0) {
    check.status = PeerKeyStatus::kKnown;
    check.verified = it->second.verified;
  } else {
    check.status = PeerKeyStatus::kChanged;
    check.previous_key = it->second.key;
  }
  return check;
}

Result<PeerCheck> IdentityStore::CheckAndRemember(const std::string& user, const std::string& device,
                                                  const IdentityPublicKey& key) {
  if (!ValidName(user) || !ValidName(device)) return Error{"user and device names must be 1 to 255 bytes"};
  PeerCheck check = Check(user, device, key);
  if (check.blocked()) {
    return Error{check.status == PeerKeyStatus::kChanged
                     ? "the identity key of " + user + " (" + device +
                           ") changed since you verified it. Someone may be intercepting the call. "
                           "Compare safety numbers again before approving the new key"
                     : user + " is calling from a new device (" + device +
                           ") you have not verified. Compare safety numbers before approving it"};
  }
  if (check.status != PeerKeyStatus::kKnown) {
    if (auto stored = Store(KnownDevice{user, device, key, false}); !stored.ok()) return stored.error();
  }
  return check;
}

Status IdentityStore::Approve(const std::string& user, const std::string& device, const IdentityPublicKey& key) {
  if (!ValidName(user) || !ValidName(device)) return Error{"user and device names must be 1 to 255 bytes"};
  return Store(KnownDevice{user, device, key, false});
}

Status IdentityStore::MarkVerified(const std::string& user, const std::string& device,
                                   const IdentityPublicKey& key) {
  auto it = devices_.find(Key{user, device});
  if (it == devices_.end()) return Error{"no identity key is known for " + user + " (" + device + ")"};
  if (sodium_memcmp(it->second.key.data(), key.data(), key.size()) != 0) {
    return Error{"the key you verified is not the one remembered for " + user + " (" + device + ")"};
  }
  KnownDevice updated = it->second;
  updated.verified = true;
  return Store(updated);
}

std::vector<KnownDevice> IdentityStore::DevicesOf(const std::string& user) const {
  std::vector<KnownDevice> out;
  for (auto it = devices_.lower_bound(Key{user, ""}); it != devices_.end() && it->first.first == user; ++it) {
    out.push_back(it->second);
  }
  return out;
}

Status IdentityStore::Store(const KnownDevice& device) {
  const Key key{device.user, device.device};
  std::optional<KnownDevice> before;
  if (auto it = devices_.find(key); it != devices_.end()) before = it->second;
  devices_[key] = device;
  if (!path_) return Ok{};
  if (auto written = WriteFileAtomically(*path_, Serialize()); !written.ok()) {
    if (before) {
      devices_[key] = *before;
    } else {
      devices_.erase(key);
    }
    return Error{"could not save the identity key of " + device.user + ": " + written.error().message};
  }
  return Ok{};
}

}  // namespace parley::crypto
