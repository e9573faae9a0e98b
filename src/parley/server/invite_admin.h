// Making, listing and revoking app invites over a Store: what `parleyd invite` and the
// hub's `app_invite` request share (docs/protocol.md, "Web app and invites").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/result.h"
#include "parley/crypto/key_source.h"
#include "parley/server/invite_code.h"
#include "parley/server/store.h"

namespace parley::server {

// Borrows the store for its lifetime; same thread rules as the store (the owner
// serialises calls).
class InviteAdmin {
 public:
  explicit InviteAdmin(Store& store) : store_(store) {}

  // A fresh invite from `random`, stored (hashed) with its creator ("" = operator).
  Result<InviteCode> Create(crypto::KeySource& random, const std::string& created_by, int64_t now_unix_ms);

  // Revokes the invite named by its 22 characters, its whole link, or the short id
  // `List` prints (12 hex digits). Errors: no such invite, already revoked, an id that
  // is ambiguous or malformed, each one sentence saying what to do.
  Result<InviteRecord> Revoke(std::string_view invite_link_or_id, int64_t now_unix_ms);

  // A table for the operator, one invite a line, oldest first:
  //   <short id>  created <UTC time>  by <name | operator>  live | revoked <UTC time>
  // (the invite itself cannot be shown: only its hash is kept).
  Result<std::string> List();

  // "2026-11-29 04:07:20 UTC".
  static std::string UtcTime(int64_t unix_ms);

 private:
  Store& store_;
};

}  // namespace parley::server
