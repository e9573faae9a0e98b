// What every Store implementation checks before it writes, and the codes it stores
// enums as: shared so that SQLite and PostgreSQL give the same sentences.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "parley/base/result.h"
#include "parley/server/store.h"

namespace parley::server {

inline constexpr size_t kMaxDeviceNameBytes = 64;
inline constexpr size_t kMaxCallIdBytes = 64;
inline constexpr size_t kMaxPartyNameBytes = 64;

// Stored codes are fixed here, not taken from the enums' order, so reordering an
// enum cannot reinterpret existing rows. -1 for a value outside the enum.
int64_t AudienceCode(Audience audience);
std::optional<Audience> AudienceFromCode(int64_t code);
int64_t OutcomeCode(CallOutcome outcome);
std::optional<CallOutcome> OutcomeFromCode(int64_t code);

// True if `text` is valid UTF-8 without NUL bytes: what PostgreSQL's text type can
// hold. Both stores refuse other free text, so they accept the same inputs.
bool IsStorableText(std::string_view text);

// "there is no account named \"zed\"".
Error NoAccountError(const std::string& user);

// Device name 1 to 64 printable bytes of UTF-8, identity key not all zeros.
Status ValidateDevice(const DeviceRecord& device);
// Call id and both parties 1 to 64 bytes of UTF-8, two different parties, a known outcome.
Status ValidateCallLogEntry(const CallLogEntry& entry);
// The creator is empty (the operator) or a name of at most 64 bytes of UTF-8.
Status ValidateInviteCreator(const std::string& created_by);

// --- Moving a community (ImportCommunity) ---

// Rows per kind in a snapshot, as an import must store them.
CommunityCounts CountsOf(const CommunitySnapshot& snapshot);
// "3 accounts, 4 devices, 2 contacts, 0 blocks, 5 calls, 1 missed call, 2 invites".
std::string DescribeCounts(const CommunityCounts& counts);
// Every record checked as the Store's methods check it, no duplicates where the
// schema is unique, and every name a contact, block, linked call or missed call
// refers to is one of the snapshot's accounts: an import that passes this cannot
// fail halfway for a reason in the data.
Status ValidateSnapshot(const CommunitySnapshot& snapshot);
Error DestinationNotEmptyError(const std::string& where, int64_t accounts);
Error CountsDifferError(const std::string& where, const CommunityCounts& expected,
                        const CommunityCounts& stored);

}  // namespace parley::server
