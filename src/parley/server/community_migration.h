// `parleyd migrate`: copies a whole community (accounts, devices, privacy, contacts,
// blocks, call log, missed calls, invites) from one Store to another, all or nothing.
#pragma once

#include "parley/base/result.h"
#include "parley/server/store.h"

namespace parley::server {

// Exports `from` in one read transaction and imports it into `to` in one write
// transaction; `to` must have no accounts. After the import commits, counts `to`
// again and compares with what was exported. Returns those counts. On any error
// nothing was stored in `to` (except in the one case the error says so: the counts
// differing after the commit, which would be a bug).
// Stop the parleyd nodes using `from` first: writes made during the copy are not in it.
Result<CommunityCounts> MigrateCommunity(Store& from, Store& to);

}  // namespace parley::server
