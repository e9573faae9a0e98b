// Which parleyd each simulated client connects to: pairs (client 2k calls 2k+1) are split
// across servers so that with several nodes every call crosses nodes, and callers alternate.
#pragma once

#include <cstddef>

namespace parley::load {

// The server index (0..servers-1) of client `client`. Pair k = clients 2k (caller) and
// 2k+1 (callee): the caller goes to server k % servers, the callee to the next one, so
// with two or more servers caller and callee are always on different servers and each
// server owns (as the caller's node) the same share of calls. `servers` must be >= 1.
size_t ServerOfClient(size_t client, size_t servers);

}  // namespace parley::load
