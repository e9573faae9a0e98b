// What parleyd keeps: accounts bound to device identity keys, contacts, blocks,
// privacy settings, the call log and missed calls. SQLite by default (SqliteStore);
// PostgreSQL when several nodes share state. Every write is one transaction: when a
// call returns Ok, the change survives a kill -9 of the process.
//
// Changes since the first draft (same shape, semantics now pinned down):
// - SchemaVersion() added (numbered migrations are applied at open).
// - Names are validated by CreateAccount (ValidateUsername, username.h); every other
//   method answers "there is no account named ..." for an unknown user.
// - Adding an existing contact/block and removing a missing one are Ok (idempotent,
//   so a retried request is harmless); listing or blocking yourself is an error.
// - DeleteAccount also removes other users' contact and block entries that point at
//   the deleted account: a name registered again later is a different person.
// - The call log is kept per account, not per name: a re-registered name does not
//   see the old owner's history; others still see the old name in theirs.
// - ExportCommunity/ImportCommunity/CountCommunity added for `parleyd migrate`.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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

// An app invite (docs/protocol.md, "Web app and invites"), kept only as the hash of
// its 16 bytes (InviteCode::hash), so a copy of the database opens no app path.
struct InviteRecord {
  std::array<uint8_t, 32> hash{};
  std::string created_by;        // the account that asked for it; empty = the operator
  int64_t created_unix_ms = 0;
  int64_t revoked_unix_ms = 0;   // 0 while the invite is live
};

// A row of the call log as stored: the entry, and whether each side is still linked
// to the account of that name (false once that account was deleted, even if the
// name was registered again: the new owner does not see the old call).
struct LoggedCall {
  CallLogEntry entry;
  bool caller_linked = false;
  bool callee_linked = false;
};

// Everything a store holds, for moving a community between stores (`parleyd
// migrate`). Every list is in the order the rows were added, which the importing
// store keeps, so orderings that break ties by age (devices, call log, missed
// calls) come out the same.
struct CommunitySnapshot {
  std::vector<AccountRecord> accounts;  // with their devices and privacy settings
  std::vector<std::pair<std::string, std::string>> contacts;  // (owner, contact)
  std::vector<std::pair<std::string, std::string>> blocks;    // (owner, blocked)
  std::vector<LoggedCall> call_log;
  std::vector<CallLogEntry> missed_calls;  // callee filled in
  std::vector<InviteRecord> invites;
};

// Rows per kind, as `parleyd migrate` prints and checks them.
struct CommunityCounts {
  int64_t accounts = 0;
  int64_t devices = 0;
  int64_t contacts = 0;
  int64_t blocks = 0;
  int64_t calls = 0;
  int64_t missed_calls = 0;
  int64_t invites = 0;
  friend bool operator==(const CommunityCounts&, const CommunityCounts&) = default;
};

// Errors are readable sentences for the operator's log and, where safe, the client.
// Implementations are called from the server's worker context; each method is one
// transaction. Not required to be thread-safe: the owner serialises calls.
// An error from a write means nothing of that write was stored.
class Store {
 public:
  virtual ~Store() = default;

  // The schema version the store is at after its migrations ran (1, 2, ...).
  virtual Result<int> SchemaVersion() = 0;

  // Accounts. CreateAccount fails with a clear error if the name is invalid
  // (ValidateUsername) or taken, or if the device is malformed (device name 1 to 64
  // printable bytes, identity key not all zeros).
  virtual Status CreateAccount(const std::string& user, const DeviceRecord& first_device,
                               int64_t now_unix_ms) = 0;
  // nullopt if there is no such account; devices in the order they were added.
  virtual Result<std::optional<AccountRecord>> FindAccount(const std::string& user) = 0;
  // Fails if the user already has a device of that name.
  virtual Status AddDevice(const std::string& user, const DeviceRecord& device) = 0;
  // Removes the account and everything that belongs to it (devices, its contacts and
  // blocks, others' contact and block entries naming it, its missed calls); other
  // users' call logs keep the name.
  virtual Status DeleteAccount(const std::string& user) = 0;
  virtual Status SetPrivacy(const std::string& user, Audience who_may_call, Audience p2p_with) = 0;

  // Contacts are one-way: `owner` lists `contact`. Both accounts must exist.
  virtual Status AddContact(const std::string& owner, const std::string& contact) = 0;
  virtual Status RemoveContact(const std::string& owner, const std::string& contact) = 0;
  // Sorted by name.
  virtual Result<std::vector<std::string>> Contacts(const std::string& owner) = 0;
  virtual Result<bool> IsContact(const std::string& owner, const std::string& contact) = 0;

  // Blocks are one-way and independent of contacts (the hub decides that a block wins).
  virtual Status Block(const std::string& owner, const std::string& blocked) = 0;
  virtual Status Unblock(const std::string& owner, const std::string& blocked) = 0;
  // Sorted by name.
  virtual Result<std::vector<std::string>> BlockList(const std::string& owner) = 0;
  virtual Result<bool> IsBlocked(const std::string& owner, const std::string& blocked) = 0;

  // The call log: written when a call ends (one row, both parties see it). call_id is
  // unique; at least one party must have an account.
  virtual Status RecordCall(const CallLogEntry& entry) = 0;
  // Newest first (by started_unix_ms), at most `limit` (> 0) entries.
  virtual Result<std::vector<CallLogEntry>> CallHistory(const std::string& user, int limit) = 0;

  // Missed calls wait for the callee's next connection; taking them removes them in
  // the same transaction, so each is delivered once. entry.callee must be `callee`
  // (or empty, then it is filled in). Taken oldest first.
  virtual Status AddMissedCall(const std::string& callee, const CallLogEntry& entry) = 0;
  virtual Result<std::vector<CallLogEntry>> TakeMissedCalls(const std::string& callee) = 0;

  // App invites. The hash is unique (adding it again is an error); the creator is a
  // name as text, so an invite outlives a deleted account, like the call log's names.
  virtual Status AddInvite(const InviteRecord& invite) = 0;
  // nullopt if no invite has this hash; revoked ones are returned (revoked_unix_ms set).
  virtual Result<std::optional<InviteRecord>> FindInvite(const std::array<uint8_t, 32>& hash) = 0;
  // Every invite, live and revoked, oldest first.
  virtual Result<std::vector<InviteRecord>> ListInvites() = 0;
  // Marks a live invite revoked; false if there is none with this hash or it is
  // already revoked (so a retried revoke is harmless).
  virtual Result<bool> RevokeInvite(const std::array<uint8_t, 32>& hash, int64_t now_unix_ms) = 0;
  // Live invites `user` created since `since_unix_ms`, for the hub's per-account cap.
  virtual Result<int64_t> CountInvitesBy(const std::string& user, int64_t since_unix_ms) = 0;

  // Moving a community. ExportCommunity reads everything in one transaction (a
  // consistent snapshot). ImportCommunity writes a snapshot into a store that has no
  // accounts yet, in one transaction that also counts what it wrote and rolls back
  // unless the counts equal the snapshot's: it stores all of it or nothing.
  virtual Result<CommunitySnapshot> ExportCommunity() = 0;
  virtual Status ImportCommunity(const CommunitySnapshot& snapshot) = 0;
  virtual Result<CommunityCounts> CountCommunity() = 0;
};

}  // namespace parley::server
