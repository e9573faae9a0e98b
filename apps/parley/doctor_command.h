// `parley doctor`: what works from this network (signaling, relay over UDP, relay over
// TLS, both mixed; the address the relay sees; the P2P setting) and what calls will use.
#pragma once

#include "client_commands.h"

namespace parley::app {

struct DoctorOptions {
  bool json = false;  // print the facts as JSON instead of plain words
};

// Exit status: 0 if a media path works, else 1 (the report says what to try).
int RunDoctor(const CommonOptions& common, const DoctorOptions& options);

}  // namespace parley::app
