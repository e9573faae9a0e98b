// The InviteDirectory parleyd runs with: looks each invite up by its hash in a store
// connection of its own, so invites made or revoked by `parleyd invite` in another
// process take effect at the next request, without a restart.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "parley/server/invite_directory.h"
#include "parley/server/store.h"

namespace parley::server {

// Thread-safe: one mutex serialises the store, which is not (Store's contract). A
// lookup is one primary-key read (tens of microseconds).
class StoreInviteDirectory final : public InviteDirectory {
 public:
  // `store` should be a connection used by nothing else (the hub has its own).
  explicit StoreInviteDirectory(std::unique_ptr<Store> store) : store_(std::move(store)) {}

  bool IsLive(const InviteCode& invite) override;
  // Lookups the store failed (busy, damaged): answered "not live", counted here.
  int64_t lookup_failures();

 private:
  std::mutex mu_;  // guards store_ and lookup_failures_
  std::unique_ptr<Store> store_;
  int64_t lookup_failures_ = 0;
};

}  // namespace parley::server
