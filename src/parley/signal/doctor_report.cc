// DoctorFacts judged and written out in plain words and as JSON.
#include "parley/signal/doctor_report.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace parley::signal {
namespace {

constexpr double kSlowRttMs = 400;
constexpr double kSlowLoss = 0.2;

// "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1".
std::string HostOf(const std::string& endpoint) {
  const std::size_t colon = endpoint.rfind(':');
  std::string host = colon == std::string::npos ? endpoint : endpoint.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

std::optional<int> PortOf(const std::string& endpoint) {
  const std::size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  int port = 0;
  const char* begin = endpoint.data() + colon + 1;
  const char* end = endpoint.data() + endpoint.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return port;
}

bool IsLoopback(const std::string& host) { return host == "::1" || host.rfind("127.", 0) == 0; }

const RelayPathCheck* Find(const DoctorFacts& facts, std::string_view name) {
  for (const auto& check : facts.relay_paths) {
    if (check.name == name) return &check;
  }
  return nullptr;
}

bool Usable(const RelayPathCheck* check) {
  if (check == nullptr) return false;
  const PathVerdict verdict = Judge(*check);
  return verdict == PathVerdict::kWorks || verdict == PathVerdict::kSlow;
}

std::string Numbers(const RelayPathCheck& check) {
  std::string rtt = check.median_rtt_ms ? fmt::format("{:.0f} ms round trip", *check.median_rtt_ms) : "no round trip";
  return fmt::format("{}, {:.0f}% loss ({} of {} answered)", rtt, 100 * check.loss(), check.answered, check.sent);
}

std::string DescribePath(const RelayPathCheck& check) {
  const PathVerdict verdict = Judge(check);
  switch (verdict) {
    case PathVerdict::kWorks: return "works: " + Numbers(check);
    case PathVerdict::kSlow: return "slow: " + Numbers(check);
    case PathVerdict::kNotTested: return "not tested: " + check.error;
    case PathVerdict::kBlocked: break;
  }
  std::string why;
  if (!check.first_bound && !check.second_bound) {
    why = "the relay never answered (this network may block it)";
  } else if (!check.first_bound || !check.second_bound) {
    why = "the relay answered only one of the two ends";
  } else {
    why = "the relay answered but forwarded nothing";
  }
  if (!check.error.empty()) why += "; " + check.error;
  return "blocked: " + why;
}

}  // namespace

PathVerdict Judge(const RelayPathCheck& check) {
  if (!check.tested) return PathVerdict::kNotTested;
  if (check.answered == 0) return PathVerdict::kBlocked;
  if (check.loss() > kSlowLoss || (check.median_rtt_ms && *check.median_rtt_ms > kSlowRttMs)) {
    return PathVerdict::kSlow;
  }
  return PathVerdict::kWorks;
}

std::string_view ToString(PathVerdict verdict) {
  switch (verdict) {
    case PathVerdict::kWorks: return "works";
    case PathVerdict::kSlow: return "slow";
    case PathVerdict::kBlocked: return "blocked";
    case PathVerdict::kNotTested: return "not tested";
  }
  return "?";
}

std::optional<bool> BehindNat(const NatCheck& nat) {
  if (!nat.mapped) return std::nullopt;
  const std::string host = HostOf(*nat.mapped);
  if (IsLoopback(host)) return false;
  return std::none_of(nat.local_addresses.begin(), nat.local_addresses.end(),
                      [&](const std::string& local) { return HostOf(local) == host; });
}

std::optional<bool> PredictableMapping(const NatCheck& nat) {
  if (!nat.mapped || !nat.mapped_second) return std::nullopt;
  const auto first = PortOf(*nat.mapped);
  const auto second = PortOf(*nat.mapped_second);
  if (!first || !second || nat.local_port == 0 || nat.local_port_second == 0) return std::nullopt;
  return HostOf(*nat.mapped) == HostOf(*nat.mapped_second) &&
         *first - nat.local_port == *second - nat.local_port_second;
}

std::optional<std::string> PreferredPath(const DoctorFacts& facts) {
  const bool udp = Usable(Find(facts, "relay-udp"));
  const bool tls = Usable(Find(facts, "relay-tls"));
  const bool mixed = Usable(Find(facts, "relay-udp+relay-tls"));
  if (udp && !facts.p2p_setting.empty() && facts.p2p_setting != "nobody") return "p2p";
  if (udp) return "relay-udp";
  if (tls || mixed) return "relay-tls";
  return std::nullopt;
}

int DoctorExitCode(const DoctorFacts& facts) { return PreferredPath(facts) ? 0 : 1; }

std::string FormatDoctorText(const DoctorFacts& facts) {
  std::string out;
  // One column of labels, wide enough for the longest path name.
  std::size_t width = 12;
  for (const RelayPathCheck& check : facts.relay_paths) width = std::max(width, check.name.size() + 2);
  auto label = [width](std::string_view name) { return fmt::format("{:<{}}", name, width); };
  const SignalingCheck& sig = facts.signaling;
  if (sig.reachable && sig.logged_in) {
    out += fmt::format("{}works: {} over TLS, certificate matches the pin, connected in {:.0f} ms\n",
                       label("signaling"), sig.server, sig.connect_ms);
  } else if (sig.reachable) {
    out += fmt::format("{}reached {} but the login failed: {}\n", label("signaling"), sig.server, sig.error);
  } else {
    out += fmt::format("{}does not work: {}\n", label("signaling"), sig.error);
  }
  for (const RelayPathCheck& check : facts.relay_paths) {
    out += label(check.name) + DescribePath(check) + "\n";
  }
  if (facts.nat.mapped) {
    const bool nat = BehindNat(facts.nat).value_or(false);
    out += fmt::format("{}the relay sees you at {}{}\n", label("address"), *facts.nat.mapped,
                       nat ? " (behind NAT: direct calls need hole punching)" : " (no NAT)");
    if (auto predictable = PredictableMapping(facts.nat); predictable && nat) {
      out += label("") + (*predictable ? "your NAT keeps ports predictable: hole punching should work\n"
                                       : "your NAT changes ports per socket: hole punching may fail, the relay will "
                                         "carry the call\n");
    }
  }
  if (!facts.p2p_setting.empty()) {
    out += fmt::format("{}your setting: {}{}\n", label("p2p"), facts.p2p_setting,
                       facts.p2p_setting == "nobody" ? " (calls always go through the relay)"
                                                     : " (direct calls with people it allows, when they allow it too)");
  }
  const auto preferred = PreferredPath(facts);
  if (!preferred) {
    if (!sig.reachable) {
      out += "Calls will not work from this network: the server cannot be reached. Check the server address "
             "and your connection, or try another network or a VPN.\n";
    } else {
      out += "Calls will not work from this network: no media path reaches the relay. Try another network or a "
             "VPN, and ask the server's operator to check that the relay's port is reachable.\n";
    }
  } else if (*preferred == "p2p") {
    out += "Calls will use: p2p when the other side allows it and hole punching succeeds, otherwise relay-udp.\n";
  } else if (*preferred == "relay-udp") {
    out += "Calls will use: relay-udp.\n";
  } else {
    out += "Calls will use: relay-tls (UDP to the relay does not work from this network).\n";
  }
  return out;
}

std::string FormatDoctorJson(const DoctorFacts& facts) {
  using Json = nlohmann::ordered_json;
  Json paths = Json::array();
  for (const RelayPathCheck& check : facts.relay_paths) {
    paths.push_back({{"name", check.name},
                     {"verdict", ToString(Judge(check))},
                     {"tested", check.tested},
                     {"first_bound", check.first_bound},
                     {"second_bound", check.second_bound},
                     {"sent", check.sent},
                     {"answered", check.answered},
                     {"loss", check.loss()},
                     {"median_rtt_ms", check.median_rtt_ms ? Json(*check.median_rtt_ms) : Json(nullptr)},
                     {"error", check.error}});
  }
  auto optional_text = [](const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); };
  auto optional_bool = [](const std::optional<bool>& v) { return v ? Json(*v) : Json(nullptr); };
  const auto preferred = PreferredPath(facts);
  Json json = {
      {"signaling",
       {{"server", facts.signaling.server},
        {"reachable", facts.signaling.reachable},
        {"logged_in", facts.signaling.logged_in},
        {"connect_ms", facts.signaling.connect_ms},
        {"error", facts.signaling.error}}},
      {"paths", paths},
      {"nat",
       {{"local_addresses", facts.nat.local_addresses},
        {"mapped", optional_text(facts.nat.mapped)},
        {"mapped_second", optional_text(facts.nat.mapped_second)},
        {"behind_nat", optional_bool(BehindNat(facts.nat))},
        {"predictable_mapping", optional_bool(PredictableMapping(facts.nat))}}},
      {"p2p_setting", facts.p2p_setting.empty() ? Json(nullptr) : Json(facts.p2p_setting)},
      {"calls_will_use", optional_text(preferred)},
      {"ok", preferred.has_value()},
  };
  return json.dump(2, ' ', false, Json::error_handler_t::replace);
}

}  // namespace parley::signal
