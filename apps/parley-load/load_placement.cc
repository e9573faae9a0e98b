// ServerOfClient: the round-robin placement of parley-load's clients on its servers.
#include "load_placement.h"

#include "parley/base/check.h"

namespace parley::load {

size_t ServerOfClient(size_t client, size_t servers) {
  PARLEY_CHECK(servers >= 1);
  const size_t pair = client / 2;
  const size_t callee = client % 2;
  return (pair + callee) % servers;
}

}  // namespace parley::load
