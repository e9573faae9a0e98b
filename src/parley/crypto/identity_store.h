// The peers' identity keys this client has seen (trust on first use) and verified,
// kept in PROFILE/known_peers. Format: docs/protocol.md, "Identity store files".
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/base/result.h"
#include "parley/crypto/identity_key.h"

namespace parley::crypto {

enum class PeerKeyStatus {
  kFirstContact,  // this user has never been seen
  kNewDevice,     // the user is known, this device is not
  kKnown,         // the device's remembered key
  kChanged,       // the device presents a different key than remembered
};

struct PeerCheck {
  PeerKeyStatus status = PeerKeyStatus::kFirstContact;
  bool verified = false;       // kKnown and the user verified this very key
  bool user_verified = false;  // the user verified some device of this user
  std::optional<IdentityPublicKey> previous_key;  // kChanged: what was remembered

  // Show a warning before the call connects.
  bool needs_warning() const { return status == PeerKeyStatus::kChanged || status == PeerKeyStatus::kNewDevice; }
  // A key the user did not verify, for a user they did: the call must not connect
  // until they approve it. (A new device of a verified user counts: the server
  // decides which devices exist.)
  bool blocked() const { return needs_warning() && user_verified; }
};

struct KnownDevice {
  std::string user;
  std::string device;
  IdentityPublicKey key{};
  bool verified = false;
  bool operator==(const KnownDevice&) const = default;
};

// In memory, or backed by a file that is rewritten atomically on every change; a
// failed write leaves the file and the in-memory state as they were. Not
// thread-safe; the client's call context owns it. Users and devices are any 1..255
// byte strings.
class IdentityStore {
 public:
  static constexpr std::string_view kFileName = "known_peers";

  IdentityStore() = default;  // empty, in memory
  // Loads PROFILE/known_peers (an absent file is an empty store), creating PROFILE
  // (0700) if needed. A damaged file is an error naming the line, never silently reset.
  static Result<IdentityStore> Open(const std::filesystem::path& profile_dir);
  // Outside input: fuzzed. Errors name the line.
  static Result<IdentityStore> Parse(std::string_view text);
  std::string Serialize() const;

  // Pure lookup.
  PeerCheck Check(const std::string& user, const std::string& device, const IdentityPublicKey& key) const;

  // What the call layer runs when a peer's identity key arrives in a handshake:
  // remembers the key on first contact, for a new device and for a changed key of an
  // unverified user (the returned check says to warn), and returns an error, storing
  // nothing, when check.blocked(): a verified user's key changed or a new device
  // appeared; Approve() then lets the call go ahead.
  Result<PeerCheck> CheckAndRemember(const std::string& user, const std::string& device,
                                     const IdentityPublicKey& key);
  // The user accepts `key` for this device after a warning; it is stored unverified.
  Status Approve(const std::string& user, const std::string& device, const IdentityPublicKey& key);
  // `parley verify`: the user compared the safety number for exactly this key.
  // Fails if `key` is not the remembered key (verify what you were shown).
  Status MarkVerified(const std::string& user, const std::string& device, const IdentityPublicKey& key);

  std::vector<KnownDevice> DevicesOf(const std::string& user) const;
  std::size_t size() const { return devices_.size(); }

 private:
  using Key = std::pair<std::string, std::string>;
  Status Store(const KnownDevice& device);  // set + persist, rolled back on failure
  bool UserVerified(const std::string& user) const;

  std::optional<std::filesystem::path> path_;
  std::map<Key, KnownDevice> devices_;
};

}  // namespace parley::crypto
