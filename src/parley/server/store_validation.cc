// Store input checks and stored enum codes, shared by SqliteStore and PostgresStore.
#include "parley/server/store_validation.h"

#include <algorithm>
#include <set>
#include <utility>

#include "parley/base/quote.h"
#include "parley/server/username.h"

namespace parley::server {

int64_t AudienceCode(Audience audience) {
  switch (audience) {
    case Audience::kEveryone: return 0;
    case Audience::kContacts: return 1;
    case Audience::kNobody: return 2;
  }
  return -1;
}

std::optional<Audience> AudienceFromCode(int64_t code) {
  switch (code) {
    case 0: return Audience::kEveryone;
    case 1: return Audience::kContacts;
    case 2: return Audience::kNobody;
  }
  return std::nullopt;
}

int64_t OutcomeCode(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::kAnswered: return 0;
    case CallOutcome::kDeclined: return 1;
    case CallOutcome::kBusy: return 2;
    case CallOutcome::kCancelled: return 3;
    case CallOutcome::kMissed: return 4;
    case CallOutcome::kFailed: return 5;
  }
  return -1;
}

std::optional<CallOutcome> OutcomeFromCode(int64_t code) {
  switch (code) {
    case 0: return CallOutcome::kAnswered;
    case 1: return CallOutcome::kDeclined;
    case 2: return CallOutcome::kBusy;
    case 3: return CallOutcome::kCancelled;
    case 4: return CallOutcome::kMissed;
    case 5: return CallOutcome::kFailed;
  }
  return std::nullopt;
}

bool IsStorableText(std::string_view text) {
  // RFC 3629 section 4: shortest forms only, no surrogates, nothing past U+10FFFF.
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 == 0) return false;
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned char low = 0x80, high = 0xbf;  // allowed range of the second byte
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      length = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      length = 3;
      if (b0 == 0xe0) low = 0xa0;
      if (b0 == 0xed) high = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      length = 4;
      if (b0 == 0xf0) low = 0x90;
      if (b0 == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      const unsigned char lo = k == 1 ? low : 0x80;
      const unsigned char hi = k == 1 ? high : 0xbf;
      if (b < lo || b > hi) return false;
    }
    i += length;
  }
  return true;
}

Error NoAccountError(const std::string& user) {
  return Error{"there is no account named " + QuoteUntrusted(user)};
}

Status ValidateDevice(const DeviceRecord& device) {
  if (device.device.empty() || device.device.size() > kMaxDeviceNameBytes) {
    return Error{"device name " + QuoteUntrusted(device.device) + " must be 1 to 64 bytes long"};
  }
  for (char c : device.device) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return Error{"device name " + QuoteUntrusted(device.device) +
                   " contains a control character: use printable characters only"};
    }
  }
  if (!IsStorableText(device.device)) {
    return Error{"device name " + QuoteUntrusted(device.device) + " is not UTF-8 text: send it as UTF-8"};
  }
  if (std::all_of(device.identity_key.begin(), device.identity_key.end(),
                  [](uint8_t b) { return b == 0; })) {
    return Error{"the identity key of device " + QuoteUntrusted(device.device) +
                 " is all zeros: send the device's Ed25519 public key"};
  }
  return Ok{};
}

Status ValidateCallLogEntry(const CallLogEntry& entry) {
  if (entry.call_id.empty() || entry.call_id.size() > kMaxCallIdBytes) {
    return Error{"call id " + QuoteUntrusted(entry.call_id) + " must be 1 to 64 bytes long"};
  }
  if (entry.caller.empty() || entry.caller.size() > kMaxPartyNameBytes ||
      entry.callee.empty() || entry.callee.size() > kMaxPartyNameBytes) {
    return Error{"call " + QuoteUntrusted(entry.call_id) + " needs a caller and a callee of 1 to 64 bytes"};
  }
  if (!IsStorableText(entry.call_id) || !IsStorableText(entry.caller) || !IsStorableText(entry.callee)) {
    return Error{"call " + QuoteUntrusted(entry.call_id) +
                 " has an id or a party that is not UTF-8 text without NUL bytes: log it as UTF-8"};
  }
  if (entry.caller == entry.callee) {
    return Error{"call " + QuoteUntrusted(entry.call_id) + " has " + QuoteUntrusted(entry.caller) +
                 " as both caller and callee: a call is between two people"};
  }
  if (OutcomeCode(entry.outcome) < 0) {
    return Error{"call " + QuoteUntrusted(entry.call_id) + " has an unknown outcome"};
  }
  return Ok{};
}

Status ValidateInviteCreator(const std::string& created_by) {
  if (created_by.size() > kMaxPartyNameBytes) {
    return Error{"the creator of an invite must be a name of at most 64 bytes"};
  }
  if (!IsStorableText(created_by)) {
    return Error{"the creator of an invite " + QuoteUntrusted(created_by) +
                 " is not UTF-8 text without NUL bytes: use an account name"};
  }
  return Ok{};
}

}  // namespace parley::server

namespace parley::server {

CommunityCounts CountsOf(const CommunitySnapshot& snapshot) {
  CommunityCounts counts;
  counts.accounts = static_cast<int64_t>(snapshot.accounts.size());
  for (const auto& account : snapshot.accounts) counts.devices += static_cast<int64_t>(account.devices.size());
  counts.contacts = static_cast<int64_t>(snapshot.contacts.size());
  counts.blocks = static_cast<int64_t>(snapshot.blocks.size());
  counts.calls = static_cast<int64_t>(snapshot.call_log.size());
  counts.missed_calls = static_cast<int64_t>(snapshot.missed_calls.size());
  counts.invites = static_cast<int64_t>(snapshot.invites.size());
  return counts;
}

std::string DescribeCounts(const CommunityCounts& c) {
  auto n = [](int64_t count, const char* one, const char* many) {
    return std::to_string(count) + " " + (count == 1 ? one : many);
  };
  return n(c.accounts, "account", "accounts") + ", " + n(c.devices, "device", "devices") + ", " +
         n(c.contacts, "contact", "contacts") + ", " + n(c.blocks, "block", "blocks") + ", " +
         n(c.calls, "logged call", "logged calls") + ", " + n(c.missed_calls, "missed call", "missed calls") +
         ", " + n(c.invites, "invite", "invites");
}

Status ValidateSnapshot(const CommunitySnapshot& snapshot) {
  const std::string bad = "the community to import is inconsistent: ";
  std::set<std::string> names;
  for (const AccountRecord& account : snapshot.accounts) {
    if (auto valid = ValidateUsername(account.user); !valid.ok()) return Error{bad + valid.error().message};
    if (!names.insert(account.user).second) {
      return Error{bad + "the account " + QuoteUntrusted(account.user) + " appears twice"};
    }
    if (AudienceCode(account.who_may_call) < 0 || AudienceCode(account.p2p_with) < 0) {
      return Error{bad + "the account " + QuoteUntrusted(account.user) + " has an unknown privacy setting"};
    }
    std::set<std::string> devices;
    for (const DeviceRecord& device : account.devices) {
      if (auto valid = ValidateDevice(device); !valid.ok()) return Error{bad + valid.error().message};
      if (!devices.insert(device.device).second) {
        return Error{bad + QuoteUntrusted(account.user) + " has two devices named " + QuoteUntrusted(device.device)};
      }
    }
  }
  auto known = [&](const std::string& name) { return names.count(name) != 0; };
  for (const auto* pairs : {&snapshot.contacts, &snapshot.blocks}) {
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& pair : *pairs) {
      if (!known(pair.first) || !known(pair.second) || pair.first == pair.second || !seen.insert(pair).second) {
        return Error{bad + "the entry " + QuoteUntrusted(pair.first) + " -> " + QuoteUntrusted(pair.second) +
                     (pairs == &snapshot.contacts ? " in contacts" : " in blocks") +
                     " names an unknown account, names one account twice, or is repeated"};
      }
    }
  }
  std::set<std::string> call_ids;
  for (const LoggedCall& call : snapshot.call_log) {
    if (auto valid = ValidateCallLogEntry(call.entry); !valid.ok()) return Error{bad + valid.error().message};
    if ((call.caller_linked && !known(call.entry.caller)) || (call.callee_linked && !known(call.entry.callee)) ||
        (!call.caller_linked && !call.callee_linked) || !call_ids.insert(call.entry.call_id).second) {
      return Error{bad + "call " + QuoteUntrusted(call.entry.call_id) +
                   " is repeated, or belongs to no account or to one the community does not hold"};
    }
  }
  std::set<std::pair<std::string, std::string>> missed;
  for (const CallLogEntry& entry : snapshot.missed_calls) {
    if (auto valid = ValidateCallLogEntry(entry); !valid.ok()) return Error{bad + valid.error().message};
    if (!known(entry.callee) || !missed.insert({entry.callee, entry.call_id}).second) {
      return Error{bad + "missed call " + QuoteUntrusted(entry.call_id) + " is repeated or for " +
                   QuoteUntrusted(entry.callee) + ", who has no account"};
    }
  }
  std::set<std::array<uint8_t, 32>> hashes;
  for (const InviteRecord& invite : snapshot.invites) {
    if (auto valid = ValidateInviteCreator(invite.created_by); !valid.ok()) return Error{bad + valid.error().message};
    if (!hashes.insert(invite.hash).second) return Error{bad + "an invite appears twice"};
  }
  return Ok{};
}

Error DestinationNotEmptyError(const std::string& where, int64_t accounts) {
  return Error{"the destination " + where + " already has " + std::to_string(accounts) +
               (accounts == 1 ? " account" : " accounts") +
               ": migrate only into a new, empty store, so that no community is mixed with another"};
}

Error CountsDifferError(const std::string& where, const CommunityCounts& expected,
                        const CommunityCounts& stored) {
  return Error{"importing into " + where + " stored " + DescribeCounts(stored) + " instead of " +
               DescribeCounts(expected) + ", so nothing was kept: report this as a parleyd bug"};
}

}  // namespace parley::server
