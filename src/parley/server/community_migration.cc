// MigrateCommunity: export, import in one transaction, count and compare.
#include "parley/server/community_migration.h"

#include "parley/server/store_validation.h"

namespace parley::server {

Result<CommunityCounts> MigrateCommunity(Store& from, Store& to) {
  // Refuse a used destination before reading the whole source.
  auto existing = to.CountCommunity();
  if (!existing.ok()) return existing.error();
  if (existing->accounts > 0) {
    return Error{"the destination store already has " + std::to_string(existing->accounts) +
                 (existing->accounts == 1 ? " account" : " accounts") +
                 ": migrate only into a new, empty store, so that no community is mixed with another"};
  }
  auto snapshot = from.ExportCommunity();
  if (!snapshot.ok()) return snapshot.error();
  if (auto imported = to.ImportCommunity(*snapshot); !imported.ok()) return imported.error();
  auto stored = to.CountCommunity();
  if (!stored.ok()) return stored.error();
  const CommunityCounts expected = CountsOf(*snapshot);
  if (*stored != expected) {
    return Error{"after the copy the destination holds " + DescribeCounts(*stored) + " but the source had " +
                 DescribeCounts(expected) +
                 " (another process wrote to it meanwhile?): check the destination before using it"};
  }
  return expected;
}

}  // namespace parley::server
