// How the client answers parleyd's hello: register or log in by signing the challenge
// with the device's identity key (docs/protocol.md, "Accounts and sessions").
#pragma once

#include <string>

#include "parley/base/result.h"
#include "parley/crypto/identity_key.h"
#include "parley/signal/messages.h"

namespace parley::signal {

// The register, login or delete_account message for `hello`. `expected_server` is the
// server name remembered at init (empty: any, which is what init itself passes); a
// hello naming another server is refused, since the name is what the signature
// binds. Pure; any thread.
Result<Message> AnswerHello(const Hello& hello, AuthPurpose purpose, const std::string& expected_server,
                            const std::string& user, const std::string& device,
                            const crypto::IdentityKey& identity, RequestId id);

}  // namespace parley::signal
