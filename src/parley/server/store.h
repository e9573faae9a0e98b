// What parleyd keeps: accounts bound to device identity keys, contacts, blocks,
// privacy settings, the call log and missed calls. SQLite by default (SqliteStore);
// PostgreSQL when several nodes share state. Every write is one transaction: when a
// call returns Ok, the change survives a kill -9 of the process.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parley/base/result.h"

namespace parley::server {

// Who may do something to me (call me; learn my address for P2P).
enum class Audience { kEveryone, kContacts, kNobody };

struct DeviceRecord {
  std::string device;                     // the client's device name, unique per user
  std::array<uint8_t, 32> identity_key{};  // Ed25519 public key
};

struct AccountRecord {
  std::string user;
  std::vector<DeviceRecord> devices;
  Audience who_may_call = Audience::kEveryone;
  Audience p2p_with = Audience::kContacts;
  int64_t created_unix_ms = 0;
};

enum class CallOutcome { kAnswered, kDeclined, kBusy, kCancelled, kMissed, kFailed };

struct CallLogEntry {
  std::string call_id;  // base64 of the 16-byte call id
  std::string caller;
  std::string callee;
  int64_t started_unix_ms = 0;  // invite
  int64_t answered_unix_ms = 0; // 0 if never answered
  int64_t ended_unix_ms = 0;
  CallOutcome outcome = CallOutcome::kFailed;
};

// Errors are readable sentences for the operator's log and, where safe, the client.
// Implementations are called from the server's worker context; each method is one
// transaction. Not required to be thread-safe: the owner serialises calls.
class Store {
 public:
  virtual ~Store() = default;

  // Accounts. CreateAccount fails with a clear error if the name is taken.
  virtual Status CreateAccount(const std::string& user, const DeviceRecord& first_device,
                               int64_t now_unix_ms) = 0;
  virtual Result<std::optional<AccountRecord>> FindAccount(const std::string& user) = 0;
  virtual Status AddDevice(const std::string& user, const DeviceRecord& device) = 0;
  // Removes the account and everything that belongs to it (contacts, blocks, its
  // missed calls); other users' call logs keep the name.
  virtual Status DeleteAccount(const std::string& user) = 0;
  virtual Status SetPrivacy(const std::string& user, Audience who_may_call, Audience p2p_with) = 0;

  // Contacts are one-way: `owner` lists `contact`.
  virtual Status AddContact(const std::string& owner, const std::string& contact) = 0;
  virtual Status RemoveContact(const std::string& owner, const std::string& contact) = 0;
  virtual Result<std::vector<std::string>> Contacts(const std::string& owner) = 0;
  virtual Result<bool> IsContact(const std::string& owner, const std::string& contact) = 0;

  virtual Status Block(const std::string& owner, const std::string& blocked) = 0;
  virtual Status Unblock(const std::string& owner, const std::string& blocked) = 0;
  virtual Result<std::vector<std::string>> BlockList(const std::string& owner) = 0;
  virtual Result<bool> IsBlocked(const std::string& owner, const std::string& blocked) = 0;

  // The call log: written when a call ends (one row, both parties see it).
  virtual Status RecordCall(const CallLogEntry& entry) = 0;
  virtual Result<std::vector<CallLogEntry>> CallHistory(const std::string& user, int limit) = 0;

  // Missed calls wait for the callee's next connection; taking them marks them delivered
  // in the same transaction, so each is delivered once.
  virtual Status AddMissedCall(const std::string& callee, const CallLogEntry& entry) = 0;
  virtual Result<std::vector<CallLogEntry>> TakeMissedCalls(const std::string& callee) = 0;
};

}  // namespace parley::server
