// One-time libsodium initialisation.
#include "parley/crypto/sodium_setup.h"

#include <sodium.h>

#include "parley/base/check.h"

namespace parley::crypto {

void EnsureSodium() {
  // A function-local static is initialised exactly once, thread-safely (C++11 [stmt.dcl]).
  static const int result = sodium_init();
  // 0: initialised now; 1: already initialised (e.g. by another library); -1: failure.
  PARLEY_CHECK_MSG(result >= 0, "libsodium failed to initialise");
}

}  // namespace parley::crypto
