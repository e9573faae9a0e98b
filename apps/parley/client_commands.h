// The account and call commands of `parley` (init, call, listen, history, contacts,
// block, settings, verify, devices, delete-account): wiring of src/parley pieces.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace parley::app {

struct CommonOptions {
  std::string profile_dir;  // empty: ~/.config/parley
};

struct InitOptions {
  // wss://HOST:PORT/ws/... or HOST:PORT, one per node of the community: registration
  // goes to the first that answers; every later command tries them in this order.
  std::vector<std::string> servers;
  std::string path;    // the WebSocket path, if not in `server`
  std::string pin;     // SHA-256 of the server certificate; empty: pin what is seen
  std::string name;
  std::string device = "cli";
};

struct CallOptions {
  std::string in_wav, out_wav;
  std::string input_device, output_device;
  std::string stats_file;
  double max_duration_s = 0;  // 0: until someone hangs up
  bool auto_answer = false;
  bool once = false;           // listen: exit after the first call
  std::string transport = "auto";  // auto, udp, tls or p2p (call_paths.h, TransportChoice)
  double rebind_after_s = 0;  // tests: a fresh UDP socket this long into the call (0: never)
  double blackout_after_s = 0, blackout_for_s = 0;  // tests: an outage of every path (0: none)
  // Microphone clean-up (--no-aec, --no-ns, --no-agc). Applies to a device input only:
  // a WAV input is a clean line-level source with no room around it, so it is sent as is.
  bool echo_cancellation = true;
  bool noise_suppression = true;
  bool gain_control = true;
  // --data-saving: send at most what data saving allows and ask the peer to do the same
  // (docs/protocol.md, "In-call control messages").
  bool data_saving = false;
};

int RunInit(const CommonOptions& common, const InitOptions& options);
int RunCall(const CommonOptions& common, const std::string& peer, const CallOptions& options);
int RunListen(const CommonOptions& common, const CallOptions& options);
int RunHistory(const CommonOptions& common, int limit);
int RunContacts(const CommonOptions& common, const std::string& action, const std::string& name);
int RunBlock(const CommonOptions& common, bool block, const std::string& name);
int RunSettings(const CommonOptions& common, const std::string& who_may_call, const std::string& p2p);
int RunVerify(const CommonOptions& common, const std::string& name, bool confirm);
int RunDevices();
int RunDeleteAccount(const CommonOptions& common, bool yes);
// Asks parleyd for a web app invite and prints its link https://HOST:PORT/<invite>/.
int RunInvite(const CommonOptions& common);

}  // namespace parley::app
