// InviteAdmin: the operator's and the hub's invite operations over the store.
#include "parley/server/invite_admin.h"

#include <ctime>

#include "parley/base/quote.h"
#include "parley/crypto/encoding.h"

namespace parley::server {
namespace {

bool IsShortId(std::string_view text) {
  if (text.size() != 12) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string InviteAdmin::UtcTime(int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

Result<InviteCode> InviteAdmin::Create(crypto::KeySource& random, const std::string& created_by,
                                       int64_t now_unix_ms) {
  const InviteCode invite = InviteCode::Generate(random);
  InviteRecord record;
  record.hash = invite.hash();
  record.created_by = created_by;
  record.created_unix_ms = now_unix_ms;
  if (auto added = store_.AddInvite(record); !added.ok()) return added.error();
  return invite;
}

Result<InviteRecord> InviteAdmin::Revoke(std::string_view invite_link_or_id, int64_t now_unix_ms) {
  std::optional<InviteRecord> target;
  if (IsShortId(invite_link_or_id)) {
    auto all = store_.ListInvites();
    if (!all.ok()) return all.error();
    for (const InviteRecord& r : *all) {
      if (InviteCode::ShortId(r.hash) != invite_link_or_id) continue;
      if (target) {
        return Error{"two invites have the id " + std::string(invite_link_or_id) +
                     ": revoke by the invite or its link instead"};
      }
      target = r;
    }
    if (!target) {
      return Error{"no invite has the id " + std::string(invite_link_or_id) +
                   ": see `parleyd invite --list` for the ids"};
    }
  } else {
    auto invite = InviteCode::Parse(invite_link_or_id);
    if (!invite.ok()) {
      return Error{invite.error().message + ", or the 12-digit id `parleyd invite --list` prints"};
    }
    auto found = store_.FindInvite(invite->hash());
    if (!found.ok()) return found.error();
    if (!*found) return Error{"this server has no such invite: check the link, or see `parleyd invite --list`"};
    target = **found;
  }
  if (target->revoked_unix_ms != 0) {
    return Error{"invite " + InviteCode::ShortId(target->hash) + " was already revoked at " +
                 UtcTime(target->revoked_unix_ms)};
  }
  auto revoked = store_.RevokeInvite(target->hash, now_unix_ms);
  if (!revoked.ok()) return revoked.error();
  if (!*revoked) return Error{"invite " + InviteCode::ShortId(target->hash) + " was revoked meanwhile"};
  target->revoked_unix_ms = now_unix_ms;
  return *target;
}

Result<std::string> InviteAdmin::List() {
  auto all = store_.ListInvites();
  if (!all.ok()) return all.error();
  std::string out;
  for (const InviteRecord& r : *all) {
    out += InviteCode::ShortId(r.hash) + "  created " + UtcTime(r.created_unix_ms) + "  by " +
           (r.created_by.empty() ? std::string("operator") : QuoteUntrusted(r.created_by)) + "  " +
           (r.revoked_unix_ms == 0 ? std::string("live") : "revoked " + UtcTime(r.revoked_unix_ms)) + "\n";
  }
  return out;
}

}  // namespace parley::server
