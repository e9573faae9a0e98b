// The web app's URL layout (docs/protocol.md, "Web app and invites"): which request
// targets name a file of the app under an invite, parsed strictly from outside input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley::server {

// A request target of the form /<invite>[/<file>][?query]. The invite is only shaped
// like one here (22 base64url characters); whether it is live is the InviteDirectory's
// question.
struct WebAppTarget {
  std::string_view invite;  // 22 base64url characters
  std::string file;         // relative path of the app file; "index.html" for "/<invite>/"
  std::string_view query;   // after '?', without it; empty if none
  bool bare = false;        // "/<invite>" with no slash: redirected to "/<invite>/" (nginx's directory 301)

  // Nothing for every target that is not exactly this shape: the decoy site answers
  // those. A file path is 1 to 8 segments of [A-Za-z0-9._-], none starting with '.'
  // (so no "..", no hidden files), at most 256 bytes; no percent escapes, no empty
  // segments, no trailing slash.
  static std::optional<WebAppTarget> Parse(std::string_view target);
};

}  // namespace parley::server
