// Relays apart (issue #8): `parleyd --role relay` (only the UDP relay, announcing
// itself on the node bus), the ticket key every role reads from config, and the list
// of relays a signaling node gives each call.
#pragma once

#include "parley/base/result.h"
#include "parley/crypto/key_source.h"
#include "parley/crypto/secret.h"
#include "parley/server/data_directory.h"
#include "parley/server/node_bus.h"
#include "parley/server/server_config.h"
#include "parley/server/signaling_hub.h"
#include "parley/server/udp_relay.h"

namespace parley::parleyd {

// How often a relay announces itself, and how long an announcement lives on the bus
// (three missed announcements and it drops out of LiveRelays).
inline constexpr Duration kRelayAnnounceInterval = seconds(5);
inline constexpr Duration kRelayAnnounceTtl = seconds(15);

// `prefix` followed by 12 random hex digits: a node's or relay's id on the bus when the
// config names none (unique per start).
std::string RandomBusId(crypto::KeySource& random, std::string prefix);

// relay.ticket_key_file if set (the community's shared key), else the data directory's
// own key (created on first start). Errors are one sentence.
Result<crypto::Secret<32>> LoadTicketKey(const server::ServerConfig& config, const server::DataDirectory& dir,
                                         crypto::KeySource& random);

// The relays the hub gives each call (HubConfig.relay_host/port must already name
// this node's relay): with `bus`, hub.choose_relays asks it for live relays each call
// and RelayChooser picks two, this node's relay (`own`, for its load) among them
// unless relay.offer_own is false;
// without, relay.first (if set) comes before this node's relay, then relay.alternates.
// `bus` and `own` must outlive the hub. Errors are one sentence (a bad list).
Status ConfigureHubRelays(const server::ServerConfig& config, server::NodeBus* bus, const server::UdpRelay* own,
                          server::HubConfig& hub);

// The relay role: binds listen.host:listen.udp_port, prints "parleyd: relay ready",
// announces {relay.id, public host and port, calls, limits.relay_max_calls} on `bus`
// (if any) every kRelayAnnounceInterval, and stops on SIGINT or SIGTERM. Returns the
// process exit code. Call from main's thread before any other thread exists.
int RunRelayRole(const server::ServerConfig& config, server::NodeBus* bus);

}  // namespace parley::parleyd
