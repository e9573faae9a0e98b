// What the web front asks before it serves the web app at an invite path: is this
// invite live? An interface, so web front tests need no database.
#pragma once

#include "parley/server/invite_code.h"

namespace parley::server {

// Implementations are called from any web front connection strand at once: they are
// thread-safe, and answer in well under a millisecond (a missing invite must cost no
// more than a live one, or timing would tell a prober which paths are invites).
class InviteDirectory {
 public:
  virtual ~InviteDirectory() = default;
  // False for an unknown or revoked invite, and when the answer cannot be had (the
  // store failing): the visitor then sees the decoy, never an error page.
  virtual bool IsLive(const InviteCode& invite) = 0;
};

}  // namespace parley::server
