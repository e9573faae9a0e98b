// StoreInviteDirectory: one locked primary-key read per question.
#include "parley/server/store_invite_directory.h"

namespace parley::server {

bool StoreInviteDirectory::IsLive(const InviteCode& invite) {
  std::lock_guard lock(mu_);
  auto found = store_->FindInvite(invite.hash());
  if (!found.ok()) {
    ++lookup_failures_;
    return false;
  }
  return found->has_value() && (*found)->revoked_unix_ms == 0;
}

int64_t StoreInviteDirectory::lookup_failures() {
  std::lock_guard lock(mu_);
  return lookup_failures_;
}

}  // namespace parley::server
