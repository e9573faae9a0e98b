// Signing the hello challenge for register, login and delete_account.
#include "parley/signal/client_auth.h"

namespace parley::signal {

Result<Message> AnswerHello(const Hello& hello, AuthPurpose purpose, const std::string& expected_server,
                            const std::string& user, const std::string& device,
                            const crypto::IdentityKey& identity, RequestId id) {
  if (!expected_server.empty() && hello.server != expected_server) {
    return Error{"The server calls itself '" + hello.server + "', not '" + expected_server +
                 "' as when you ran parley init; check the address, or run parley init again."};
  }
  const auto bytes = AuthSignedBytes(purpose, hello.challenge, user, device, hello.server);
  const crypto::Signature signature = identity.Sign(bytes);
  switch (purpose) {
    case AuthPurpose::kRegister:
      return Message{Register{id, user, device, identity.public_key(), signature}};
    case AuthPurpose::kLogin:
      return Message{Login{id, user, device, signature}};
    case AuthPurpose::kDeleteAccount:
      return Message{DeleteAccount{id, signature}};
  }
  return Error{"unknown purpose"};
}

}  // namespace parley::signal
