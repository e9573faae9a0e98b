// One simulated parley user of the signaling load generator: logs in (registering the
// account the first time) and plays caller or callee with real key-agreement messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/time.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_agreement.h"
#include "parley/crypto/key_source.h"
#include "parley/signal/messages.h"

namespace parley::load {

// What a client tells the driver after a message from the server.
struct LoadEvent {
  enum class Kind {
    kLoggedIn,     // welcome received
    kAuthFailed,   // register/login refused; `reason` says why
    kRelay,        // a `relay` for `call` arrived (both parties' relays = call set up)
    kCallFailed,   // `call` could not be set up or its keys did not agree; `reason`
    kEnded,        // `ended` for `call`; `reason` is its end reason
  };
  Kind kind = Kind::kLoggedIn;
  signal::CallId call{};
  std::string reason;
};

struct LoadOutput {
  std::vector<std::string> send;  // signaling messages, in order
  std::vector<LoadEvent> events;
};

// Logic without I/O: the driver feeds it the server's messages and sends what it
// returns. One per simulated user; used from the driver's one thread. `keys` must
// outlive it.
class LoadClient {
 public:
  // The identity key derives from `user` (BLAKE2b of a fixed label and the name), so a
  // later run logs in to the accounts an earlier one registered.
  LoadClient(std::string user, std::string device, crypto::KeySource& keys);

  const std::string& user() const { return user_; }
  bool logged_in() const { return logged_in_; }
  // Logged in and in no call.
  bool idle() const { return logged_in_ && !call_.has_value(); }
  const std::optional<signal::CallId>& call() const { return call_; }

  // A new connection: not logged in, no call (the server ends calls of a lost connection).
  void Reset();
  LoadOutput OnMessage(std::string_view text);
  // Sends invite; the client must be idle.
  LoadOutput StartCall(const std::string& callee, const signal::CallId& call_id);
  // Sends hangup (or cancel before the answer) for the current call, if any, and forgets it.
  LoadOutput EndCall();

 private:
  LoadOutput OnHello(const signal::Hello& hello);
  LoadOutput FailCall(std::string reason);
  uint64_t NextId() { return ++last_id_; }

  std::string user_;
  std::string device_;
  crypto::IdentityKey identity_;
  crypto::KeySource* keys_;
  bool logged_in_ = false;
  bool login_refused_ = false;  // the last login said no such account: register next
  uint64_t last_id_ = 0;

  std::optional<signal::CallId> call_;
  bool caller_ = false;
  bool answered_ = false;
  std::string peer_;
  std::optional<crypto::KeyAgreement> agreement_;
};

}  // namespace parley::load
