// `parley init|call|listen|history|contacts|block|settings|verify|devices|delete-account`:
// wiring between the terminal, the profile, the server link, CallSession and the media
// thread. The logic lives in src/parley (signal/call_session, call/call_media, crypto).
#include "client_commands.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "parley/call/call_media.h"
#include "parley/call/call_media_runner.h"
#include "audio_stats.h"
#include "call_paths.h"
#include "parley/crypto/encoding.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/identity_store.h"
#include "parley/crypto/key_source.h"
#include "parley/crypto/profile_files.h"
#include "parley/crypto/safety_number.h"
#include "parley/media/portaudio_devices.h"
#include "parley/media/wav_audio_input.h"
#include "parley/media/wav_audio_output.h"
#include "parley/signal/call_session.h"
#include "parley/signal/client_auth.h"
#include "parley/signal/client_profile.h"
#include "parley/signal/messages.h"
#include "parley/signal/reconnect_schedule.h"
#include "server_link.h"

namespace parley::app {
namespace {

namespace fs = std::filesystem;
using signal::Message;

constexpr Duration kConnectTimeout = seconds(10);
constexpr Duration kReplyTimeout = seconds(10);
// One reconnect attempt (connection, then hello and login) during a call: short, since
// the call loop's exit waits for an attempt under way.
constexpr Duration kReconnectTimeout = seconds(4);

std::atomic<bool> g_interrupted{false};
extern "C" void OnSigint(int) { g_interrupted = true; }

int Fail(const std::string& message) {
  std::fprintf(stderr, "parley: %s\n", message.c_str());
  return 1;
}

TimePoint Now() { return std::chrono::steady_clock::now(); }

fs::path ProfileDir(const CommonOptions& common) {
  if (!common.profile_dir.empty()) return common.profile_dir;
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : ".") / ".config" / "parley";
}

std::string FormatTime(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Waits for the reply to request `id`, skipping pushes (presence and the like).
Result<Message> WaitReply(ServerLink& link, uint64_t id, Duration timeout) {
  const TimePoint deadline = Now() + timeout;
  while (Now() < deadline) {
    auto text = link.Receive(milliseconds(200));
    if (!text) return text.error();
    if (!*text) continue;
    auto message = signal::ParseMessage(**text);
    if (!message) continue;
    if (signal::MessageId(*message) == id) return message;
  }
  return Error{"parleyd did not answer in time; check your connection and try again."};
}

Result<signal::Hello> WaitHello(ServerLink& link) {
  const TimePoint deadline = Now() + kReplyTimeout;
  while (Now() < deadline) {
    auto text = link.Receive(milliseconds(200));
    if (!text) return text.error();
    if (!*text) continue;
    auto message = signal::ParseMessage(**text);
    if (message && std::holds_alternative<signal::Hello>(*message)) return std::get<signal::Hello>(*message);
  }
  return Error{"The server did not greet us in time; is this a parleyd address?"};
}

struct Session {
  fs::path dir;
  signal::ClientProfile profile;
  std::unique_ptr<crypto::IdentityKey> identity;
  std::unique_ptr<ServerLink> link;  // null while signaling is lost during a call
  std::size_t server_index = 0;      // of profile.Servers(): the one `link` reached
  signal::Hello hello;
  uint64_t next_id = 2;  // 1 is the login on each connection
};

Result<std::unique_ptr<crypto::IdentityKey>> LoadIdentity(const fs::path& dir) {
  crypto::SystemKeySource keys;
  auto key = crypto::IdentityKey::LoadOrCreate(dir, keys);
  if (!key) return key.error();
  return std::make_unique<crypto::IdentityKey>(std::move(*key));
}

std::string HostPort(const signal::ProfileServer& server) {
  const bool v6 = server.host.find(':') != std::string::npos;
  return (v6 ? "[" + server.host + "]" : server.host) + ":" + std::to_string(server.port);
}

// What one login on one server gave.
struct Login {
  std::unique_ptr<ServerLink> link;
  signal::Hello hello;
  std::vector<signal::CallRecord> missed_calls;
};

// Connects to `server` (its pin, if any, enforced) and logs in as the profile's user
// with request id 1. Blocks for up to `timeout` plus the replies' time. Reads only its
// arguments, so it may run on a helper thread (the reconnect during a call).
Result<Login> LoginOnce(const signal::ProfileServer& server, const signal::ClientProfile& profile,
                        const crypto::IdentityKey& identity, Duration timeout) {
  Login out;
  auto link = ConnectToServer({server.host, server.port, server.websocket_path, server.pin_sha256}, timeout);
  if (!link) return link.error();
  out.link = std::move(*link);
  auto hello = WaitHello(*out.link);
  if (!hello) return hello.error();
  out.hello = *hello;
  auto login = signal::AnswerHello(*hello, signal::AuthPurpose::kLogin, profile.server_name, profile.user,
                                   profile.device, identity, uint64_t{1});
  if (!login) return login.error();
  if (Status sent = out.link->Send(signal::SerializeMessage(*login)); !sent) return sent.error();
  auto reply = WaitReply(*out.link, 1, kReplyTimeout);
  if (!reply) return reply.error();
  if (const auto* error = std::get_if<signal::ErrorReply>(&*reply)) {
    if (error->code == signal::ErrorCode::kNoSuchAccount) {
      return Error{"The account '" + profile.user + "' no longer exists on this server; run `parley init` to create one."};
    }
    return Error{"parleyd refused the login: " + error->message};
  }
  const auto* welcome = std::get_if<signal::Welcome>(&*reply);
  if (!welcome) return Error{"parleyd answered the login with an unexpected message; try again."};
  out.missed_calls = welcome->missed_calls;
  return out;
}

// Takes a successful login into the session: prints missed calls, and pins a server
// that had no pin yet (a profile edited by hand: trust on first use; `parley init`
// gives every server the pin of the one it registered on).
void AdoptLogin(Session& s, Login login, std::size_t server_index) {
  s.link = std::move(login.link);
  s.hello = std::move(login.hello);
  s.server_index = server_index;
  for (const signal::CallRecord& missed : login.missed_calls) {
    std::printf("Missed call from %s at %s.\n", missed.caller.c_str(), FormatTime(missed.started_unix_ms).c_str());
  }
  const signal::ProfileServer server = s.profile.Servers()[server_index];
  if (server.pin_sha256.empty()) {
    s.profile.SetPin(server_index, s.link->certificate_sha256());
    if (Status saved = signal::SaveClientProfile(s.dir, s.profile); !saved) {
      std::printf("Could not pin %s's certificate in the profile: %s\n", HostPort(server).c_str(),
                  saved.error().message.c_str());
    } else {
      std::printf("Pinned %s's certificate %s (first connection to it).\n", HostPort(server).c_str(),
                  s.link->certificate_sha256().c_str());
    }
  }
  std::fflush(stdout);
}

// Loads the profile and identity, then logs in on the first of the profile's servers
// that lets us in, in profile order; prints missed calls from the welcome.
Result<std::unique_ptr<Session>> ConnectAndLogin(const CommonOptions& common) {
  auto s = std::make_unique<Session>();
  s->dir = ProfileDir(common);
  auto profile = signal::LoadClientProfile(s->dir);
  if (!profile) return profile.error();
  s->profile = *profile;
  if (!fs::exists(s->dir / crypto::IdentityKey::kFileName)) {
    return Error{"The profile " + s->dir.string() + " has no identity key; run `parley init` again."};
  }
  auto identity = LoadIdentity(s->dir);
  if (!identity) return identity.error();
  s->identity = std::move(*identity);
  const std::vector<signal::ProfileServer> servers = s->profile.Servers();
  std::string errors;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    auto login = LoginOnce(servers[i], s->profile, *s->identity, kConnectTimeout);
    if (login) {
      if (i > 0) std::printf("Logged in on %s (the servers before it did not answer).\n", HostPort(servers[i]).c_str());
      AdoptLogin(*s, std::move(*login), i);
      return s;
    }
    if (servers.size() == 1) return login.error();
    errors += (errors.empty() ? "" : "; ") + HostPort(servers[i]) + ": " + login.error().message;
  }
  return Error{"None of the profile's " + std::to_string(servers.size()) + " servers let us in (" + errors +
               "); check your connection and try again."};
}

// Sends one request and returns its reply; an `error` reply becomes the error.
template <typename T>
Result<Message> Request(Session& s, T message) {
  message.id = s.next_id++;
  const uint64_t id = *message.id;
  if (Status sent = s.link->Send(signal::SerializeMessage(Message{message})); !sent) return sent.error();
  auto reply = WaitReply(*s.link, id, kReplyTimeout);
  if (!reply) return reply;
  if (const auto* error = std::get_if<signal::ErrorReply>(&*reply)) return Error{error->message};
  return reply;
}

// --- Calls ------------------------------------------------------------------------

struct ActiveMedia {
  std::unique_ptr<CallPaths> paths;  // outlives the runner, which uses its transport
  std::unique_ptr<media::PortAudioDevices> devices;
  std::unique_ptr<media::AudioInput> input;
  std::unique_ptr<media::AudioOutput> output;
  std::unique_ptr<call::CallMediaRunner> runner;
  crypto::Fingerprint fingerprint;
  TimePoint started;
  call::ConnectivityState connectivity = call::ConnectivityState::kConnecting;  // handover
  bool rebind_forced = false;  // --rebind-after done
};

Result<std::unique_ptr<ActiveMedia>> StartMedia(signal::StartMediaAction& start, const CallOptions& o,
                                                const FrontTarget& front) {
  auto m = std::make_unique<ActiveMedia>();
  auto choice = ParseTransportChoice(o.transport);
  if (!choice) return choice.error();
  auto paths = CallPaths::Open(start, *choice, front, Now());
  if (!paths) return paths.error();
  m->paths = std::move(*paths);
  if (o.blackout_for_s > 0) {  // tests: every path silent for a while, as in an outage
    const TimePoint from = Now() + FromMillis(o.blackout_after_s * 1000);
    m->paths->ScheduleBlackout(from, from + FromMillis(o.blackout_for_s * 1000));
  }
  const bool need_devices = o.in_wav.empty() || o.out_wav.empty();
  std::shared_ptr<media::FarEndReference> far_end;  // shared by the two device callbacks
  if (need_devices) {
    auto devices = media::PortAudioDevices::Create();
    if (!devices) return devices.error();
    m->devices = std::move(*devices);
  }
  if (!o.in_wav.empty()) {
    auto in = media::WavAudioInput::Open(o.in_wav, media::WavInputEnd::kSilence);
    if (!in) return in.error();
    m->input = std::move(*in);
  } else {
    // Echo, noise and gain processing in the capture callback; the echo canceller's
    // reference is what the speaker plays, when the speaker is a device too.
    media::PortAudioOptions input_options;
    input_options.processing = media::AudioProcessingConfig{.echo_cancellation = o.echo_cancellation,
                                                            .noise_suppression = o.noise_suppression,
                                                            .gain_control = o.gain_control,
                                                            .high_pass_filter = o.echo_cancellation ||
                                                                                o.noise_suppression || o.gain_control};
    if (o.echo_cancellation && o.out_wav.empty()) far_end = std::make_shared<media::FarEndReference>();
    input_options.far_end = far_end;
    auto in = m->devices->OpenInput(o.input_device, input_options);
    if (!in) return in.error();
    m->input = std::move(*in);
  }
  if (!o.out_wav.empty()) {
    auto out = media::WavAudioOutput::Create(o.out_wav);
    if (!out) return out.error();
    m->output = std::move(*out);
  } else {
    media::PortAudioOptions output_options;
    output_options.far_end = far_end;
    auto out = m->devices->OpenOutput(o.output_device, output_options);
    if (!out) return out.error();
    m->output = std::move(*out);
  }
  m->fingerprint = start.keys.fingerprint;
  call::CallMediaConfig config;
  config.bitrate.data_saving = o.data_saving;
  crypto::SystemKeySource random;
  std::array<uint8_t, 6> r{};
  random.Fill(r);
  config.first_timestamp = static_cast<uint32_t>(r[0]) << 24 | r[1] << 16 | r[2] << 8 | r[3];
  config.first_sequence = static_cast<uint16_t>(r[4] << 8 | r[5]);
  m->started = Now();
  auto media_engine = call::CallMedia::Create(std::move(start.keys), config, m->paths->transport(), m->started);
  if (!media_engine) return media_engine.error();
  auto runner = call::CallMediaRunner::Start(std::move(*media_engine), *m->input, *m->output, m->paths->transport());
  if (!runner) return runner.error();
  m->runner = std::move(*runner);
  return m;
}

// Per path: what it is, how the path manager sees it, and its carrier's counters.
nlohmann::json PathsJson(const call::PathsReport& report) {
  nlohmann::json paths = nlohmann::json::array();
  for (const call::PathReport& path : report.paths) {
    paths.push_back({{"kind", net::PathKindName(path.status.kind)},
                     {"description", path.description},
                     {"state", call::PathStateName(path.status.state)},
                     {"active", path.status.active},
                     {"rtt_ms", path.status.rtt_ms ? nlohmann::json(*path.status.rtt_ms) : nlohmann::json(nullptr)},
                     {"loss", path.status.loss_fraction},
                     {"probes_sent", path.status.probes_sent},
                     {"probes_answered", path.status.probes_answered}});
  }
  return paths;
}

nlohmann::json StatsJson(const call::CallMediaStats& st, std::string_view state, const crypto::Fingerprint& fp,
                         double t) {
  // "path": the kind media is sent on now (null until a path answered); the censor lab
  // and the tests read it.
  return {{"t", std::round(t * 10) / 10},
          {"state", state},
          {"path", st.paths.active_kind.empty() ? nlohmann::json(nullptr) : nlohmann::json(st.paths.active_kind)},
          {"path_description", st.paths.active_description},
          {"path_switches", st.paths.switches},
          {"paths", PathsJson(st.paths)},
          {"rtt_ms", st.rtt_ms ? nlohmann::json(*st.rtt_ms) : nlohmann::json(nullptr)},
          {"loss", st.receive_loss_fraction},
          {"send_loss", st.send_loss_fraction},
          {"jitter_buffer_ms", st.jitter_buffer_delay_ms},
          {"bitrate_kbps", st.send_bitrate_kbps},
          // Adaptation: what goes on the wire (sealed + UDP/IP), the controller's budget and
          // choice, and the E-model's estimate of what we hear (null before audio).
          {"wire_kbps", st.send_wire_kbps},
          {"target_kbps", st.target_wire_kbps},
          {"opus_bitrate_bps", st.opus_bitrate_bps},
          {"frame_ms", st.frame_ms},
          {"fec", st.fec},
          {"redundant_copies", st.redundant_copies},
          {"data_saving", st.data_saving},
          {"peer_queue_delay_ms", st.peer_queue_delay_ms},
          {"loss_after_recovery", st.receive_loss_after_recovery},
          {"send_loss_after_recovery", st.send_loss_after_recovery},
          {"jitter_ms", st.receive_jitter_ms},
          {"mos", st.mos ? nlohmann::json(std::round(*st.mos * 100) / 100) : nlohmann::json(nullptr)},
          {"r_factor", st.r_factor ? nlohmann::json(std::round(*st.r_factor * 10) / 10) : nlohmann::json(nullptr)},
          {"frames_encoded", st.frames_encoded},
          {"packets_sent", st.media_packets_sent},
          {"packets_received", st.media_packets_received},
          {"concealed_frames", st.frames_concealed},
          {"fingerprint", fp.Words()}};
}

std::string StatusLine(const call::CallMediaStats& st, std::string_view state, const crypto::Fingerprint& fp) {
  const std::string path = st.paths.active_kind.empty() ? std::string("finding a path") : st.paths.active_kind;
  return fmt::format("{} | {} | rtt {} | loss {:.1f}% | jb {:.0f} ms | {:.1f} kbit/s{} | MOS {} | {} ({})", state, path,
                     st.rtt_ms ? fmt::format("{:.0f} ms", *st.rtt_ms) : std::string("-"),
                     st.receive_loss_fraction * 100, st.jitter_buffer_delay_ms, st.send_wire_kbps,
                     st.data_saving ? std::string(" data saving") : std::string(),
                     st.mos ? fmt::format("{:.1f}", *st.mos) : std::string("-"), fp.Emoji(),
                     fp.Words());
}

int CallLoop(Session& s, const std::optional<std::string>& peer, const CallOptions& o) {
  auto store = crypto::IdentityStore::Open(s.dir);
  if (!store) return Fail(store.error().message);
  crypto::SystemKeySource keys;
  // Our own P2P setting, from the server (it may have been changed on another device):
  // "nobody" means no candidates leave this client, whatever `relay` says.
  signal::Audience own_p2p = signal::Audience::kNobody;
  if (auto current = Request(s, signal::Settings{}); current) {
    if (const auto* settings = std::get_if<signal::CurrentSettings>(&*current)) own_p2p = settings->p2p;
  }
  signal::CallSession session({.user = s.profile.user, .device = s.profile.device, .own_p2p = own_p2p}, *s.identity,
                              *store, keys);
  // The relay-TLS path goes to the front this signaling connection reached, pinned to
  // the certificate it accepted.
  const signal::ProfileServer reached = s.profile.Servers()[s.server_index];
  const FrontTarget front{reached.host, reached.port, reached.websocket_path, s.link->certificate_sha256()};
  std::unique_ptr<ActiveMedia> media;
  std::unique_ptr<std::ofstream> stats_out;
  if (!o.stats_file.empty()) {
    stats_out = std::make_unique<std::ofstream>(o.stats_file, std::ios::trunc);
    if (!*stats_out) return Fail("Cannot write the stats file " + o.stats_file + "; check the path.");
  }
  const bool tty = isatty(STDOUT_FILENO);
  bool stdin_open = true;
  bool done = false;
  int exit_code = 0;
  struct sigaction sa {};
  sa.sa_handler = OnSigint;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::function<void(signal::CallActions)> apply = [&](signal::CallActions actions) {
    for (auto& action : actions) {
      if (auto* send = std::get_if<signal::SendAction>(&action)) {
        // Without signaling (lost during a call) a message to the server cannot go: a
        // hangup reaches the peer as the media path's bye instead (StopMediaAction).
        if (!s.link) continue;
        if (Status st = s.link->Send(signal::SerializeMessage(send->message)); !st) {
          std::printf("%s\n", st.error().message.c_str());
        }
      } else if (auto* ringing = std::get_if<signal::RingingAction>(&action)) {
        std::printf("Ringing %s...\n", ringing->peer.c_str());
      } else if (auto* incoming = std::get_if<signal::IncomingAction>(&action)) {
        std::printf("Incoming call from %s (device %s).\n", incoming->from.c_str(), incoming->from_device.c_str());
        if (o.auto_answer && !incoming->approval_needed) {
          std::fflush(stdout);
          apply(session.Accept(Now()));
        } else if (incoming->approval_needed) {
          std::printf("Type 'y' to approve the new key, then 'a' to answer; 'd' declines.\n");
        } else {
          std::printf("Type 'a' to answer or 'd' to decline.\n");
        }
      } else if (auto* warning = std::get_if<signal::KeyWarningAction>(&action)) {
        std::printf("%s\n", warning->sentence.c_str());
        if (warning->blocked && session.state() == signal::CallState::kAwaitingApproval) {
          std::printf("Type 'y' to approve the new key or 'q' to hang up.\n");
        }
      } else if (auto* start = std::get_if<signal::StartMediaAction>(&action)) {
        auto started = StartMedia(*start, o, front);
        if (!started) {
          std::printf("The call could not start its audio: %s\n", started.error().message.c_str());
          std::fflush(stdout);
          apply(session.HangUp(Now()));
          exit_code = 1;
          continue;
        }
        media = std::move(*started);
        std::printf("Connected to %s.\nfingerprint: %s (%s)\n", session.peer().c_str(),
                    media->fingerprint.Emoji().c_str(), media->fingerprint.Words().c_str());
      } else if (std::holds_alternative<signal::StopMediaAction>(action)) {
        if (media) {
          const call::CallMediaStats st = media->runner->stats();
          // Bye on the media path whatever ended the call here: the peer ends at once
          // even when no server knows the call (parleyd restarted during it).
          Status stopped = media->runner->Stop(call::CallMediaRunner::StopMode::kSayBye);
          nlohmann::json final_stats = StatsJson(st, "ended", media->fingerprint, ToSeconds(Now() - media->started));
          final_stats["audio"] = AudioStatsJson(*media->input, *media->output);
          std::printf("stats: %s\n", final_stats.dump().c_str());
          if (!stopped) std::printf("Audio error: %s\n", stopped.error().message.c_str());
          media.reset();
        }
      } else if (auto* peer_candidates = std::get_if<signal::PeerCandidatesAction>(&action)) {
        if (media) {
          const std::size_t kept = media->paths->SetPeerCandidates(peer_candidates->candidates);
          std::printf("P2P: %s offered %zu addresses, %zu usable from here.\n", session.peer().c_str(),
                      peer_candidates->candidates.size(), kept);
        }
      } else if (auto* notice = std::get_if<signal::NoticeAction>(&action)) {
        std::printf("%s\n", notice->sentence.c_str());
      } else if (auto* ended = std::get_if<signal::CallEndedAction>(&action)) {
        if (tty) std::printf("\r\x1b[K");
        std::printf("%s\n", ended->sentence.c_str());
        if (peer || o.once) {
          done = true;
          if (exit_code == 0) exit_code = ended->was_connected ? 0 : 2;
        }
      }
    }
    std::fflush(stdout);
  };

  if (peer) {
    std::printf("Calling %s...\n", peer->c_str());
    apply(session.Call(*peer, Now()));
  } else {
    std::printf("Waiting for calls to %s (Ctrl-C to stop).\n", s.profile.user.c_str());
  }
  std::fflush(stdout);
  TimePoint next_status = Now() + seconds(1);
  // Signaling lost: a connected call goes on on its media path while the client logs in
  // again (the profile's servers in order, backing off), one attempt at a time on a
  // helper thread so that the status line, the keys and the bye keep working.
  const std::vector<signal::ProfileServer> servers = s.profile.Servers();
  signal::ReconnectSchedule reconnect(servers.size());
  std::future<Result<Login>> pending_login;
  std::size_t pending_server = 0;
  TimePoint signaling_lost_at{};
  crypto::SystemKeySource jitter_source;
  auto random_unit = [&] {
    std::array<uint8_t, 4> r{};
    jitter_source.Fill(r);
    return (static_cast<uint32_t>(r[0]) << 24 | r[1] << 16 | r[2] << 8 | r[3]) / 4294967296.0;
  };
  auto seconds_text = [](Duration d) { return fmt::format("{:.1f} s", ToSeconds(d)); };
  while (!done) {
    if (!s.link) {
      if (pending_login.valid()) {
        if (pending_login.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
          auto login = pending_login.get();
          if (login) {
            if (tty) std::printf("\r\x1b[K");
            std::printf("Logged in again on %s, %s after signaling was lost%s.\n", HostPort(servers[pending_server]).c_str(),
                        seconds_text(Now() - signaling_lost_at).c_str(),
                        session.state() == signal::CallState::kConnected ? "; the call went on meanwhile" : "");
            AdoptLogin(s, std::move(*login), pending_server);
            reconnect.OnSuccess();
          } else {
            reconnect.OnFailure(Now(), random_unit());
            if (reconnect.next_server() == 0) {  // a whole round failed: say so, with the wait
              if (tty) std::printf("\r\x1b[K");
              std::string why = login.error().message;
              if (!why.empty() && why.back() == '.') why.pop_back();
              std::printf("Reconnecting: %s (%s); next try in %s.\n", HostPort(servers[pending_server]).c_str(),
                          why.c_str(), seconds_text(reconnect.next_attempt_at() - Now()).c_str());
            }
          }
        }
      } else if (reconnect.Due(Now())) {
        pending_server = reconnect.next_server();
        pending_login = std::async(std::launch::async, [server = servers[pending_server], profile = s.profile,
                                                        identity = s.identity.get()] {
          return LoginOnce(server, profile, *identity, kReconnectTimeout);
        });
      }
    }
    Result<std::optional<std::string>> text = std::optional<std::string>();
    if (s.link) {
      text = s.link->Receive(milliseconds(50));
    } else {
      poll(nullptr, 0, 50);  // the pace Receive would have set
    }
    if (!text) {
      std::string why = text.error().message;
      if (!why.empty() && why.back() == '.') why.pop_back();  // it goes inside a sentence here
      s.link.reset();
      if (!(media && session.state() == signal::CallState::kConnected)) {
        apply(session.OnDisconnected(Now()));
        if (peer) {  // `parley call` before its call was up: the call is gone
          std::printf("%s.\n", why.c_str());
          return 1;
        }
      }
      if (done) break;
      signaling_lost_at = Now();
      reconnect.OnLost(Now(), random_unit());
      if (tty) std::printf("\r\x1b[K");
      std::printf("Signaling lost (%s)%s; logging in again in %s.\n", why.c_str(),
                  media ? "; the call goes on on its media path" : "",
                  seconds_text(reconnect.next_attempt_at() - Now()).c_str());
      std::fflush(stdout);
    }
    if (text && *text) {
      if (auto m = signal::ParseMessage(**text)) {
        if (const auto* p = std::get_if<signal::Presence>(&*m)) {
          std::printf("%s is %s.\n", p->user.c_str(), p->online ? "online" : "offline");
        } else if (const auto* e = std::get_if<signal::ErrorReply>(&*m)) {
          if (e->code == signal::ErrorCode::kReplaced) {
            std::printf("%s\n", e->message.c_str());
            apply(session.OnDisconnected(Now()));
            return 1;
          }
        }
      }
      apply(session.OnServerText(**text, Now()));
    }
    // The peer hung up on the media path (its bye): the server may not know the call.
    if (media && media->runner->stats().peer_said_bye) apply(session.OnPeerBye(Now()));
    apply(session.OnTick(Now()));
    if (g_interrupted.exchange(false)) {
      if (session.state() == signal::CallState::kIdle) break;
      apply(session.HangUp(Now()));
    }
    if (stdin_open) {
      pollfd pfd{STDIN_FILENO, POLLIN, 0};
      if (poll(&pfd, 1, 0) > 0) {
        char buf[64];
        const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n <= 0) {
          stdin_open = false;
        } else {
          for (ssize_t i = 0; i < n; ++i) {
            switch (buf[i]) {
              case 'q': apply(session.HangUp(Now())); break;
              case 'a': apply(session.Accept(Now())); break;
              case 'd': apply(session.Decline(Now())); break;
              case 'y': apply(session.ApproveKey(Now())); break;
              default: break;
            }
          }
        }
      }
    }
    if (media) {
      // P2P: offer our addresses once the relay told us how it sees us (or a second
      // passed); again if that changes. The session sends only what P2P allows.
      if (media->paths->has_p2p() &&
          (media->paths->reflexive_settled() || Now() - media->started >= seconds(1))) {
        signal::CallActions offer = session.OfferCandidates(media->paths->Candidates(), Now());
        for (const signal::CallAction& action : offer) {
          const auto* send = std::get_if<signal::SendAction>(&action);
          const auto* sent = send ? std::get_if<signal::Candidates>(&send->message) : nullptr;
          if (sent) std::printf("P2P: offering %zu addresses to %s.\n", sent->candidates.size(), session.peer().c_str());
        }
        apply(std::move(offer));
      }
      if (auto moved = media->paths->Supervise(media->runner->stats().paths, Now())) std::printf("%s\n", moved->c_str());
      // Network handover: rebinds, fresh sockets, "reconnecting", and the end after 30 s.
      if (o.rebind_after_s > 0 && !media->rebind_forced && ToSeconds(Now() - media->started) >= o.rebind_after_s) {
        media->rebind_forced = true;
        media->paths->ForceNetworkChange(Now());
      }
      const ConnectivityWatch watch = media->paths->WatchConnectivity(media->runner->stats().paths, Now());
      media->connectivity = watch.state;
      for (const std::string& notice : watch.notices) std::printf("%s%s\n", tty ? "\r\x1b[K" : "", notice.c_str());
      if (watch.give_up) {
        std::printf("%s%s\n", tty ? "\r\x1b[K" : "", watch.give_up->c_str());
        exit_code = 1;
        apply(session.HangUp(Now()));
      }
    }
    if (media && o.max_duration_s > 0 && ToSeconds(Now() - media->started) >= o.max_duration_s) {
      apply(session.HangUp(Now()));
    }
    if (media && Now() >= next_status) {
      next_status += seconds(1);
      const call::CallMediaStats st = media->runner->stats();
      const std::string_view state = media->connectivity == call::ConnectivityState::kReconnecting
                                         ? std::string_view("reconnecting")
                                         : signal::ToString(session.state());
      if (stats_out) {
        nlohmann::json line = StatsJson(st, state, media->fingerprint, ToSeconds(Now() - media->started));
        line["audio"] = AudioStatsJson(*media->input, *media->output);
        line["signaling"] = s.link ? "connected" : "reconnecting";
        *stats_out << line.dump() << "\n";
        stats_out->flush();
      }
      const std::string status = StatusLine(st, state, media->fingerprint) +
                                 AudioStatusText(*media->input, *media->output) +
                                 (s.link ? std::string() : std::string(" | signaling: reconnecting"));
      if (tty) {
        std::printf("\r\x1b[K%s", status.c_str());
      } else {
        std::printf("%s\n", status.c_str());
      }
      std::fflush(stdout);
    }
  }
  // Let the last message (hangup, cancel) reach the server before the link closes.
  if (s.link) (void)s.link->Receive(milliseconds(300));
  return exit_code;  // a reconnect attempt under way is waited for (kReconnectTimeout at most)
}

}  // namespace

int RunInit(const CommonOptions& common, const InitOptions& o) {
  const fs::path dir = ProfileDir(common);
  if (o.servers.empty()) return Fail("init needs --server: the wss://HOST:PORT/ws/... line parleyd printed.");
  if (o.servers.size() > 1 + signal::ClientProfile::kMaxMoreServers) {
    return Fail("init takes at most " + std::to_string(1 + signal::ClientProfile::kMaxMoreServers) + " --server addresses.");
  }
  std::vector<ServerAddress> addresses;
  for (const std::string& text : o.servers) {
    auto address = ParseServerAddress(text, o.path);
    if (!address) return Fail(address.error().message);
    addresses.push_back(*address);
  }
  if (!o.pin.empty()) addresses[0].pin_sha256 = o.pin;  // --pin is the first server's
  if (auto valid = signal::ValidateDeviceName(o.device); !valid) return Fail(valid.error().message);
  if (o.name.empty()) return Fail("init needs --name: the username to register, e.g. --name alice.");
  if (Status d = crypto::EnsurePrivateDirectory(dir); !d) return Fail(d.error().message);
  auto identity = LoadIdentity(dir);
  if (!identity) return Fail(identity.error().message);
  // Register on the first server that can be reached (the nodes of one community share
  // their accounts); one that answers and refuses is final.
  std::unique_ptr<ServerLink> link;
  std::size_t reached = 0;
  std::string errors;
  for (; reached < addresses.size(); ++reached) {
    auto connected = ConnectToServer(addresses[reached], kConnectTimeout);
    if (connected) {
      link = std::move(*connected);
      break;
    }
    if (addresses.size() == 1) return Fail(connected.error().message);
    errors += (errors.empty() ? "" : "; ") + addresses[reached].host + ":" + std::to_string(addresses[reached].port) +
              ": " + connected.error().message;
  }
  if (!link) return Fail("None of the " + std::to_string(addresses.size()) + " servers could be reached (" + errors + ").");
  auto hello = WaitHello(*link);
  if (!hello) return Fail(hello.error().message);
  auto reg = signal::AnswerHello(*hello, signal::AuthPurpose::kRegister, "", o.name, o.device, **identity, uint64_t{1});
  if (!reg) return Fail(reg.error().message);
  if (Status sent = link->Send(signal::SerializeMessage(*reg)); !sent) return Fail(sent.error().message);
  auto reply = WaitReply(*link, 1, kReplyTimeout);
  if (!reply) return Fail(reply.error().message);
  if (const auto* error = std::get_if<signal::ErrorReply>(&*reply)) {
    return Fail("parleyd refused to register '" + o.name + "': " + error->message);
  }
  addresses[reached].pin_sha256 = link->certificate_sha256();
  // The nodes of one community share one certificate (docs/operating.md), so the others
  // take this pin now rather than trusting whatever they first show, which may be in
  // the middle of a call, on a hostile network.
  for (ServerAddress& address : addresses) {
    if (address.pin_sha256.empty()) address.pin_sha256 = addresses[reached].pin_sha256;
  }
  signal::ClientProfile profile{.server_host = addresses[0].host,
                                .server_port = addresses[0].port,
                                .websocket_path = addresses[0].path,
                                .pin_sha256 = addresses[0].pin_sha256,
                                .server_name = hello->server,
                                .user = o.name,
                                .device = o.device};
  for (std::size_t i = 1; i < addresses.size(); ++i) {
    profile.more_servers.push_back({addresses[i].host, addresses[i].port, addresses[i].path, addresses[i].pin_sha256});
  }
  if (Status saved = signal::SaveClientProfile(dir, profile); !saved) return Fail(saved.error().message);
  const ServerAddress& used = addresses[reached];
  std::printf("Registered %s (device %s) on %s:%u.\nServer certificate pinned: %s\nProfile: %s\n", o.name.c_str(),
              o.device.c_str(), used.host.c_str(), used.port, used.pin_sha256.c_str(), dir.c_str());
  if (addresses.size() > 1) {
    std::printf("%zu further servers in the profile, tried in order when one is down; each is pinned on first "
                "connection.\n",
                addresses.size() - 1);
  }
  return 0;
}

int RunCall(const CommonOptions& common, const std::string& peer, const CallOptions& options) {
  auto s = ConnectAndLogin(common);
  if (!s) return Fail(s.error().message);
  return CallLoop(**s, peer, options);
}

int RunListen(const CommonOptions& common, const CallOptions& options) {
  auto s = ConnectAndLogin(common);
  if (!s) return Fail(s.error().message);
  return CallLoop(**s, std::nullopt, options);
}

int RunHistory(const CommonOptions& common, int limit) {
  auto s = ConnectAndLogin(common);
  if (!s) return Fail(s.error().message);
  auto reply = Request(**s, signal::History{.id = {}, .limit = limit});
  if (!reply) return Fail(reply.error().message);
  const auto* history = std::get_if<signal::CallHistory>(&*reply);
  if (!history) return Fail("parleyd answered with an unexpected message; try again.");
  if (history->calls.empty()) std::printf("No calls yet.\n");
  for (const signal::CallRecord& c : history->calls) {
    const bool outgoing = c.caller == (*s)->profile.user;
    const double secs = c.answered_unix_ms ? (c.ended_unix_ms - c.answered_unix_ms) / 1000.0 : 0;
    std::printf("%s  %s %-16s %-9s %s\n", FormatTime(c.started_unix_ms).c_str(), outgoing ? "to  " : "from",
                (outgoing ? c.callee : c.caller).c_str(), std::string(signal::ToString(c.outcome)).c_str(),
                c.answered_unix_ms ? fmt::format("{:.0f} s", secs).c_str() : "");
  }
  return 0;
}

int RunInvite(const CommonOptions& common) {
  auto s = ConnectAndLogin(common);
  if (!s) return Fail(s.error().message);
  auto reply = Request(**s, signal::NewAppInvite{});
  if (!reply) return Fail(reply.error().message);
  const auto* invite = std::get_if<signal::AppInvite>(&*reply);
  if (!invite) return Fail("parleyd answered with an unexpected message; try again.");
  // The web app is on the same TLS port as signaling (docs/protocol.md, "Web app and invites").
  const std::string& host = (*s)->profile.server_host;
  const uint16_t port = (*s)->profile.server_port;
  std::string link = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host);
  if (port != 443) link += ":" + std::to_string(port);
  link += "/" + crypto::ToBase64(invite->invite) + "/";
  std::printf("%s\n", link.c_str());
  std::fprintf(stderr,
               "Give this link only to people you want to reach the web app: anyone with it sees the app, "
               "everyone else sees an ordinary website.\n");
  return 0;
}

int RunContacts(const CommonOptions& common, const std::string& action, const std::string& name) {
  auto s = ConnectAndLogin(common);
  if (!s) return Fail(s.error().message);
  if (action == "list") {
    auto reply = Request(**s, signal::ContactsList{});
    if (!reply) return Fail(reply.error().message);
    const auto* list = std::get_if<signal::ContactList>(&*reply);
    if (!list) return Fail("parleyd answered with an unexpected message; try again.");
    if (list->users.empty()) std::printf("No contacts yet.\n");
    for (const std::string& u : list->users) std::printf("%s\n", u.c_str());
    return 0;
  }
  if (name.empty()) return Fail("contacts " + action + " needs a NAME.");
  Result<Message> reply = action == "add" ? Request(**s, signal::ContactsAdd{.id = {}, .user = name})
                                          : Request(**s, signal::ContactsRemove{.id = {}, .user = name});
  if (!reply) return Fail(reply.error().message);
  std::printf(action == "add" ? "Added %s to your contacts.\n" : "Removed %s from your contacts.\n", name.c_str());
  return 0;
}

int RunBlock(const CommonOptions& common, bool block, const std::string& name) {
  auto s = ConnectAndLogin(common);
  if (!s) return Fail(s.error().message);
  if (name.empty()) {
    auto reply = Request(**s, signal::Blocks{});
    if (!reply) return Fail(reply.error().message);
    const auto* list = std::get_if<signal::BlockList>(&*reply);
    if (!list) return Fail("parleyd answered with an unexpected message; try again.");
    if (list->users.empty()) std::printf("You block nobody.\n");
    for (const std::string& u : list->users) std::printf("%s\n", u.c_str());
    return 0;
  }
  Result<Message> reply = block ? Request(**s, signal::BlockUser{.id = {}, .user = name})
                                : Request(**s, signal::UnblockUser{.id = {}, .user = name});
  if (!reply) return Fail(reply.error().message);
  std::printf(block ? "Blocked %s: their calls now fail as if you did not exist.\n" : "Unblocked %s.\n", name.c_str());
  return 0;
}

int RunSettings(const CommonOptions& common, const std::string& who_may_call, const std::string& p2p) {
  auto parse = [](const std::string& v) -> std::optional<signal::Audience> {
    if (v == "everyone") return signal::Audience::kEveryone;
    if (v == "contacts") return signal::Audience::kContacts;
    if (v == "nobody") return signal::Audience::kNobody;
    return std::nullopt;
  };
  signal::Settings settings;
  if (!who_may_call.empty()) {
    settings.who_may_call = parse(who_may_call);
    if (!settings.who_may_call) return Fail("--who-may-call must be everyone, contacts or nobody.");
  }
  if (!p2p.empty()) {
    settings.p2p = parse(p2p);
    if (!settings.p2p) return Fail("--p2p must be everyone, contacts or nobody.");
  }
  auto s = ConnectAndLogin(common);
  if (!s) return Fail(s.error().message);
  auto reply = Request(**s, settings);
  if (!reply) return Fail(reply.error().message);
  const auto* current = std::get_if<signal::CurrentSettings>(&*reply);
  if (!current) return Fail("parleyd answered with an unexpected message; try again.");
  std::printf("who may call: %s\np2p: %s\n", std::string(signal::ToString(current->who_may_call)).c_str(),
              std::string(signal::ToString(current->p2p)).c_str());
  return 0;
}

int RunVerify(const CommonOptions& common, const std::string& name, bool confirm) {
  const fs::path dir = ProfileDir(common);
  auto identity = LoadIdentity(dir);
  if (!identity) return Fail(identity.error().message);
  auto store = crypto::IdentityStore::Open(dir);
  if (!store) return Fail(store.error().message);
  const auto devices = store->DevicesOf(name);
  if (devices.empty()) {
    return Fail("You have not talked to " + name + " yet; call them once, then compare safety numbers.");
  }
  for (const crypto::KnownDevice& d : devices) {
    const auto number = crypto::SafetyNumber::Compute((*identity)->public_key(), d.key);
    std::printf("%s (device %s)%s\n  safety number: %s\n", name.c_str(), d.device.c_str(),
                d.verified ? " [verified]" : "", number.ToString().c_str());
  }
  if (!confirm) {
    std::printf("Compare this number with %s (in person or on a call you trust). If it matches, run\n"
                "  parley verify %s --confirm\n",
                name.c_str(), name.c_str());
    return 0;
  }
  for (const crypto::KnownDevice& d : devices) {
    if (Status st = store->MarkVerified(name, d.device, d.key); !st) return Fail(st.error().message);
  }
  std::printf("Marked %s as verified: a changed key will now hold calls until you approve it.\n", name.c_str());
  return 0;
}

int RunDevices() {
  auto devices = media::PortAudioDevices::Create();
  if (!devices) return Fail(devices.error().message);
  const auto list = (*devices)->List();
  if (list.empty()) {
    std::printf("No audio devices found; use --in FILE.wav and --out FILE.wav instead.\n");
    return 0;
  }
  std::fputs(media::FormatAudioDeviceList(list).c_str(), stdout);
  return 0;
}

int RunDeleteAccount(const CommonOptions& common, bool yes) {
  if (!yes) return Fail("This deletes your account, contacts and call history for good; add --yes to confirm.");
  auto s = ConnectAndLogin(common);
  if (!s) return Fail(s.error().message);
  // delete_account signs this connection's login challenge.
  auto message = signal::AnswerHello((*s)->hello, signal::AuthPurpose::kDeleteAccount, "", (*s)->profile.user,
                                     (*s)->profile.device, *(*s)->identity, (*s)->next_id++);
  if (!message) return Fail(message.error().message);
  const uint64_t id = *signal::MessageId(*message);
  if (Status sent = (*s)->link->Send(signal::SerializeMessage(*message)); !sent) return Fail(sent.error().message);
  auto reply = WaitReply(*(*s)->link, id, kReplyTimeout);
  if (!reply) return Fail(reply.error().message);
  if (const auto* e = std::get_if<signal::ErrorReply>(&*reply)) return Fail("parleyd refused: " + e->message);
  std::printf("Deleted the account %s.\n", (*s)->profile.user.c_str());
  return 0;
}

}  // namespace parley::app
