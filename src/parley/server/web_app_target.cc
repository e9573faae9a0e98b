// WebAppTarget::Parse: a strict whitelist, so no path outside the app can be named.
#include "parley/server/web_app_target.h"

#include <algorithm>

namespace parley::server {
namespace {

constexpr size_t kInviteChars = 22;
constexpr size_t kMaxFileBytes = 256;
constexpr int kMaxSegments = 8;

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool IsFileChar(char c) { return IsBase64UrlChar(c) || c == '.'; }

}  // namespace

std::optional<WebAppTarget> WebAppTarget::Parse(std::string_view target) {
  WebAppTarget out;
  const size_t question = target.find('?');
  if (question != std::string_view::npos) {
    out.query = target.substr(question + 1);
    target = target.substr(0, question);
  }
  if (target.size() < 1 + kInviteChars || target[0] != '/') return std::nullopt;
  out.invite = target.substr(1, kInviteChars);
  if (!std::all_of(out.invite.begin(), out.invite.end(), IsBase64UrlChar)) return std::nullopt;
  std::string_view rest = target.substr(1 + kInviteChars);
  if (rest.empty()) {
    out.bare = true;
    return out;
  }
  if (rest[0] != '/') return std::nullopt;
  rest.remove_prefix(1);
  if (rest.empty()) {
    out.file = "index.html";
    return out;
  }
  if (rest.size() > kMaxFileBytes) return std::nullopt;
  int segments = 0;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t end = rest.find('/', start);
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view segment = rest.substr(start, end - start);
    if (segment.empty() || segment[0] == '.' || ++segments > kMaxSegments) return std::nullopt;
    if (!std::all_of(segment.begin(), segment.end(), IsFileChar)) return std::nullopt;
    start = end + 1;
  }
  out.file = std::string(rest);
  return out;
}

}  // namespace parley::server
