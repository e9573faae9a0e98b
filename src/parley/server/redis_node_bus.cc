// RedisNodeBus: NodeBus over hiredis. Scripts keep each compare-and-set atomic in Redis.
#include "parley/server/redis_node_bus.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <span>

#include <spdlog/spdlog.h>

#include "parley/base/check.h"
#include "parley/server/node_bus_codec.h"

namespace parley::server {
namespace {

constexpr Duration kFirstBackoff = milliseconds(50);
constexpr Duration kMaxBackoff = seconds(2);

// Deletes KEYS[1] only while it holds ARGV[1]: ClearPresence, ReleaseBusy.
constexpr const char* kCompareAndDelete =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
// Sets KEYS[1] to ARGV[1] for ARGV[2] ms if it is absent or already ARGV[1], returning
// nil; otherwise returns what KEYS[1] holds and leaves it: RenewPresence.
constexpr const char* kRenew =
    "local held = redis.call('GET', KEYS[1]) "
    "if held == false or held == ARGV[1] then "
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return false end "
    "return held";
// A login's presence write (SetPresence): sets KEYS[1] to ARGV[1] (a presence record)
// for ARGV[2] ms unless KEYS[1] holds a later login, which is left in place. ARGV[3] is
// ARGV[1]'s order key (PresenceOrderKey); a held record's key is read at the fixed
// offsets of presence record version 2 (docs/protocol.md, "Between nodes (Redis)"):
// login time bytes 3-10, connection 11-18, node length 19, node from 20. A held value
// that is not such a record is overwritten (it keeps nobody online). Returns {1} (set,
// nothing replaced), {1, held} (set, held replaced) or {0, held} (held is later: kept).
constexpr const char* kLogin =
    "local function before(a, b) "
    "  local n = math.min(#a, #b) "
    "  for i = 1, n do "
    "    local x, y = string.byte(a, i), string.byte(b, i) "
    "    if x ~= y then return x < y end "
    "  end "
    "  return #a < #b "
    "end "
    "local held = redis.call('GET', KEYS[1]) "
    "if held == false or held == ARGV[1] then "
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {1} end "
    "if #held >= 19 and string.byte(held, 1) == 2 and string.byte(held, 2) == 2 then "
    "  local n = string.byte(held, 19) "
    "  if #held >= 19 + n then "
    "    local key = string.sub(held, 3, 10) .. string.sub(held, 20, 19 + n) .. string.char(0) .. "
    "                string.sub(held, 11, 18) "
    "    if before(ARGV[3], key) then return {0, held} end "
    "  end "
    "end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {1, held}";
static_assert(kNodeBusFormatVersion == 2, "kLogin reads presence records of version 2");

// LoggedInBefore as bytes that compare the same way byte by byte: login time and
// connection big-endian, the node id ended by a 0 byte (which no node id contains).
std::string PresenceOrderKey(const PresenceRecord& record) {
  std::string key;
  auto big = [&key](uint64_t v) {
    for (int i = 7; i >= 0; --i) key.push_back(static_cast<char>(static_cast<uint8_t>(v >> (8 * i))));
  };
  big(static_cast<uint64_t>(record.login_unix_ms));
  key += record.node;
  key.push_back('\0');
  big(record.connection);
  return key;
}

// Sets KEYS[1] to ARGV[1] for ARGV[2] ms if it is absent or already ARGV[1]: ClaimBusy.
constexpr const char* kClaim =
    "local held = redis.call('GET', KEYS[1]) "
    "if held == false or held == ARGV[1] then "
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "return 0";
// KEYS[1] sorted set relay id -> expiry (Redis ms), KEYS[2] hash relay id -> record.
// ARGV: record, ttl ms, relay id.
constexpr const char* kAnnounceRelay =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3]) "
    "redis.call('HSET', KEYS[2], ARGV[3], ARGV[1]) return 1";
// Drops expired relays (at most 1000 per call), then returns up to ARGV[1] live records.
constexpr const char* kLiveRelays =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000) "
    "if #expired > 0 then redis.call('ZREM', KEYS[1], unpack(expired)) "
    "  redis.call('HDEL', KEYS[2], unpack(expired)) end "
    "local live = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1) "
    "if #live == 0 then return {} end "
    "return redis.call('HMGET', KEYS[2], unpack(live))";

bool IsPrefixChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

std::string Milliseconds(Duration ttl) {
  auto ms = std::chrono::ceil<milliseconds>(ttl).count();
  return std::to_string(std::max<int64_t>(ms, 1));
}

std::string CallBytes(const signal::CallId& call) { return std::string(call.begin(), call.end()); }

std::string AsString(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

std::span<const uint8_t> AsBytes(const redisReply* reply) {
  return {reinterpret_cast<const uint8_t*>(reply->str), reply->len};
}

// True if a command connection has anything to read or has been closed: it never gets
// unsolicited data, so that means Redis went away (or restarted) since the last command.
bool LooksClosed(redisContext* context) {
  pollfd fd{context->fd, POLLIN, 0};
  return poll(&fd, 1, 0) != 0;
}

timeval ToTimeval(Duration d) {
  const auto us = std::max<int64_t>(std::chrono::duration_cast<microseconds>(d).count(), 1000);
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

std::string MillisText(Duration d) {
  return std::to_string(std::chrono::ceil<milliseconds>(d).count()) + " ms";
}

}  // namespace

struct RedisNodeBus::Reply {
  std::unique_ptr<redisReply, void (*)(void*)> reply{nullptr, freeReplyObject};
  const redisReply* operator->() const { return reply.get(); }
};

Result<RedisAddress> ParseRedisUrl(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  auto bad = [&](const std::string& why) {
    return Error{"The node bus URL '" + url + "' " + why + ": write it as redis://host:port or redis://host:port/prefix."};
  };
  if (url.rfind(kScheme, 0) != 0) return bad("does not start with redis://");
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  RedisAddress address;
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.size() < rest.size()) {
    std::string_view prefix = rest.substr(authority.size() + 1);
    if (prefix.empty() || prefix.size() > 64 || !std::all_of(prefix.begin(), prefix.end(), IsPrefixChar)) {
      return bad("has a prefix that is not 1-64 characters of A-Z a-z 0-9 _ . -");
    }
    address.prefix = std::string(prefix);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an IPv6 address without its closing ]");
    address.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("has something other than :port after its IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("has an empty port");
    }
  } else {
    auto colon = authority.find(':');
    address.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("has an empty port");
    }
  }
  if (address.host.empty()) return bad("has no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return bad("has a port that is not a number from 1 to 65535");
    }
    address.port = static_cast<uint16_t>(port);
  }
  return address;
}

RedisNodeBus::RedisNodeBus(RedisAddress address, std::string node_id, RedisBusOptions options)
    : address_(std::move(address)),
      node_id_(std::move(node_id)),
      channel_(address_.prefix + ":node:" + node_id_),
      options_(options),
      breaker_(options.retry) {}

Result<std::unique_ptr<RedisNodeBus>> RedisNodeBus::Connect(const std::string& url, std::string node_id,
                                                            RedisBusOptions options) {
  if (!IsValidNodeId(node_id)) {
    return Error{"The node id '" + node_id + "' is not 1-64 characters of A-Z a-z 0-9 _ . -: choose another."};
  }
  auto address = ParseRedisUrl(url);
  if (!address.ok()) return address.error();
  std::unique_ptr<RedisNodeBus> bus(new RedisNodeBus(std::move(*address), std::move(node_id), options));
  if (auto connected = bus->ConnectCommand(); !connected.ok()) return connected.error();
  auto subscriber = bus->ConnectSubscriber();
  if (!subscriber.ok()) return subscriber.error();
  bus->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (bus->wake_fd_ < 0) {
    redisFree(*subscriber);
    return Error{"The node bus could not create an eventfd for its subscriber thread: raise the process's file limit."};
  }
  bus->subscriber_ = std::thread([raw = bus.get(), first = *subscriber] { raw->SubscriberLoop(first); });
  return bus;
}

RedisNodeBus::~RedisNodeBus() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    PARLEY_CHECK(write(wake_fd_, &one, sizeof one) == sizeof one);
  }
  if (subscriber_.joinable()) subscriber_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
  if (command_) redisFree(command_);
}

std::string RedisNodeBus::Key(const char* kind, const std::string& name) const {
  return address_.prefix + ":" + kind + ":" + name;
}

std::string RedisNodeBus::Unreachable(const std::string& why) const {
  return "The node bus at redis://" + address_.host + ":" + std::to_string(address_.port) + " is unreachable (" +
         why + "): check that Redis runs there and that the bus URL in the config is right.";
}

Status RedisNodeBus::ConnectCommand() {
  if (command_) redisFree(command_);
  command_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, ToTimeval(options_.connect_timeout));
  if (command_ == nullptr || command_->err != 0) {
    std::string why = command_ ? command_->errstr : "out of memory";
    if (command_) redisFree(command_);
    command_ = nullptr;
    return Error{Unreachable(why)};
  }
  redisSetTimeout(command_, ToTimeval(options_.command_timeout));
  return Ok{};
}

Result<RedisNodeBus::Reply> RedisNodeBus::Command(const std::vector<std::string>& args, bool retry_after_failure) {
  const TimePoint now = std::chrono::steady_clock::now();
  if (!breaker_.MayTry(now)) {
    return Error{Unreachable("it failed a moment ago and is tried again in " + MillisText(breaker_.retry_at() - now))};
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  bool reached = false;
  auto reply = Attempt(argv, lengths, args[0], retry_after_failure, &reached);
  if (reached) {
    breaker_.OnSuccess();
  } else {
    breaker_.OnFailure(std::chrono::steady_clock::now());
  }
  return reply;
}

Result<RedisNodeBus::Reply> RedisNodeBus::Attempt(std::vector<const char*>& argv,
                                                  const std::vector<size_t>& lengths, const std::string& name,
                                                  bool retry_after_failure, bool* reached) {
  if (command_ && LooksClosed(command_)) {
    redisFree(command_);
    command_ = nullptr;
  }
  for (int attempt = 0;; ++attempt) {
    if (command_ == nullptr) {
      if (auto connected = ConnectCommand(); !connected.ok()) return connected.error();
    }
    void* raw = redisCommandArgv(command_, static_cast<int>(argv.size()), argv.data(), lengths.data());
    const int error_number = errno;
    if (raw != nullptr) {
      *reached = true;
      Reply reply;
      reply.reply.reset(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR) {
        return Error{"Redis refused the node bus's " + name + " (" + std::string(reply->str, reply->len) +
                     "): check that it is Redis 6.2 or later and not read-only."};
      }
      return reply;
    }
    // hiredis 0.14 reports a socket timeout (SO_RCVTIMEO) as an I/O error with EAGAIN.
    const bool timed_out =
        command_->err == REDIS_ERR_IO && (error_number == EAGAIN || error_number == EWOULDBLOCK);
    std::string why = timed_out ? "no answer within " + MillisText(options_.command_timeout) : command_->errstr;
    redisFree(command_);  // a late reply must not be taken for the next command's
    command_ = nullptr;
    if (timed_out || !retry_after_failure || attempt > 0) return Error{Unreachable(why)};
  }
}

std::vector<Result<RedisNodeBus::Reply>> RedisNodeBus::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  std::vector<Result<Reply>> replies;
  replies.reserve(commands.size());
  const std::span<const std::vector<std::string>> all(commands);
  for (std::size_t begin = 0; begin < all.size(); begin += kPipelineDepth) {
    PipelineChunk(all.subspan(begin, std::min(kPipelineDepth, all.size() - begin)), replies);
  }
  return replies;
}

void RedisNodeBus::PipelineChunk(std::span<const std::vector<std::string>> commands,
                                 std::vector<Result<Reply>>& replies) {
  if (commands.empty()) return;
  const TimePoint now = std::chrono::steady_clock::now();
  if (!breaker_.MayTry(now)) {
    const Error refused{
        Unreachable("it failed a moment ago and is tried again in " + MillisText(breaker_.retry_at() - now))};
    for (std::size_t i = 0; i < commands.size(); ++i) replies.emplace_back(refused);
    return;
  }
  if (command_ && LooksClosed(command_)) {
    redisFree(command_);
    command_ = nullptr;
  }
  std::size_t answered = 0;
  std::optional<Error> failure;
  for (int attempt = 0; answered < commands.size() && !failure; ++attempt) {
    if (command_ == nullptr) {
      if (auto connected = ConnectCommand(); !connected.ok()) {
        failure = connected.error();
        break;
      }
    }
    // Appending only fills hiredis's output buffer; the first redisGetReply writes it all.
    for (std::size_t i = answered; i < commands.size(); ++i) {
      std::vector<const char*> argv;
      std::vector<size_t> lengths;
      for (const std::string& arg : commands[i]) {
        argv.emplace_back(arg.data());
        lengths.emplace_back(arg.size());
      }
      PARLEY_CHECK_MSG(redisAppendCommandArgv(command_, static_cast<int>(argv.size()), argv.data(),
                                              lengths.data()) == REDIS_OK,
                       "hiredis could not buffer a command (out of memory)");
    }
    for (; answered < commands.size(); ++answered) {
      void* raw = nullptr;
      const int status = redisGetReply(command_, &raw);
      const int error_number = errno;
      if (status != REDIS_OK || raw == nullptr) {
        const bool timed_out =
            command_->err == REDIS_ERR_IO && (error_number == EAGAIN || error_number == EWOULDBLOCK);
        std::string why = timed_out ? "no answer within " + MillisText(options_.command_timeout) : command_->errstr;
        redisFree(command_);  // late replies must not be taken for the next command's
        command_ = nullptr;
        // Closed mid-pipeline (Redis restarted): once more on a new connection; the
        // commands are idempotent. Never after a timeout: the caller would wait twice.
        if (timed_out || attempt > 0) failure = Error{Unreachable(why)};
        break;
      }
      Reply reply;
      reply.reply.reset(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR) {
        replies.emplace_back(Error{"Redis refused the node bus's " + commands[answered][0] + " (" +
                                std::string(reply->str, reply->len) +
                                "): check that it is Redis 6.2 or later and not read-only."});
      } else {
        replies.emplace_back(std::move(reply));
      }
    }
  }
  if (!failure) {
    breaker_.OnSuccess();
    return;
  }
  breaker_.OnFailure(std::chrono::steady_clock::now());
  for (; answered < commands.size(); ++answered) replies.emplace_back(*failure);
}

std::vector<std::string> RedisNodeBus::LoginCommand(const std::string& user, const PresenceRecord& record,
                                                   const std::string& ttl_ms) const {
  return {"EVAL", kLogin, "1", Key("presence", user), AsString(EncodePresenceRecord(record)), ttl_ms,
          PresenceOrderKey(record)};
}

Result<PresenceWrite> RedisNodeBus::ReadLoginReply(const redisReply* reply, const std::string& user) {
  const bool shaped = reply->type == REDIS_REPLY_ARRAY && (reply->elements == 1 || reply->elements == 2) &&
                      reply->element[0]->type == REDIS_REPLY_INTEGER &&
                      (reply->elements == 1 || reply->element[1]->type == REDIS_REPLY_STRING);
  if (!shaped) return Error{"Redis answered a login's presence write with something other than the script's reply."};
  PresenceWrite write;
  write.written = reply->element[0]->integer == 1;
  if (reply->elements == 2) write.other = ReadPresence(AsBytes(reply->element[1]), user);  // malformed: overwritten
  if (!write.written && !write.other) {
    return Error{"Redis kept a presence record that this parleyd cannot read in place of a login."};
  }
  return write;
}

Result<PresenceWrite> RedisNodeBus::SetPresence(const std::string& user, const PresenceRecord& record,
                                                Duration ttl) {
  auto reply = Command(LoginCommand(user, record, Milliseconds(ttl)), true);
  if (!reply.ok()) return reply.error();
  return ReadLoginReply((*reply).reply.get(), user);
}

std::vector<Result<PresenceWrite>> RedisNodeBus::SetPresences(std::span<const PresenceRenewal> logins,
                                                              Duration ttl) {
  const std::string ttl_ms = Milliseconds(ttl);
  std::vector<std::vector<std::string>> commands;
  commands.reserve(logins.size());
  for (const PresenceRenewal& l : logins) commands.push_back(LoginCommand(l.user, l.record, ttl_ms));
  auto replies = Pipeline(commands);
  std::vector<Result<PresenceWrite>> results;
  results.reserve(logins.size());
  for (std::size_t i = 0; i < logins.size(); ++i) {
    if (!replies[i].ok()) {
      results.emplace_back(replies[i].error());
    } else {
      results.push_back(ReadLoginReply((*replies[i]).reply.get(), logins[i].user));
    }
  }
  return results;
}

Result<std::optional<PresenceRecord>> RedisNodeBus::RenewPresence(const std::string& user,
                                                                  const PresenceRecord& record, Duration ttl) {
  auto reply = Command({"EVAL", kRenew, "1", Key("presence", user), AsString(EncodePresenceRecord(record)),
                        Milliseconds(ttl)},
                       true);
  if (!reply.ok()) return reply.error();
  if ((*reply)->type == REDIS_REPLY_NIL) return std::optional<PresenceRecord>{};  // renewed
  if ((*reply)->type != REDIS_REPLY_STRING) return Error{"Redis answered a presence renewal with something other than a value."};
  auto held = ReadPresence(AsBytes((*reply).reply.get()), user);
  if (held) return held;  // a newer login: left in place
  // Bytes no parleyd wrote keep nobody online: this connection takes the key back.
  auto set = SetPresence(user, record, ttl);
  if (!set.ok()) return set.error();
  if (!set->written) return set->other;  // a later login got in between
  return std::optional<PresenceRecord>{};
}

std::vector<Result<std::optional<PresenceRecord>>> RedisNodeBus::RenewPresences(
    std::span<const PresenceRenewal> renewals, Duration ttl) {
  const std::string ttl_ms = Milliseconds(ttl);
  std::vector<std::vector<std::string>> commands;
  commands.reserve(renewals.size());
  for (const PresenceRenewal& r : renewals) {
    commands.push_back(
        {"EVAL", kRenew, "1", Key("presence", r.user), AsString(EncodePresenceRecord(r.record)), ttl_ms});
  }
  auto replies = Pipeline(commands);
  std::vector<Result<std::optional<PresenceRecord>>> results;
  results.reserve(renewals.size());
  for (std::size_t i = 0; i < renewals.size(); ++i) {
    auto& reply = replies[i];
    if (!reply.ok()) {
      results.emplace_back(reply.error());
    } else if ((*reply)->type == REDIS_REPLY_NIL) {
      results.emplace_back(std::optional<PresenceRecord>{});  // renewed
    } else if ((*reply)->type != REDIS_REPLY_STRING) {
      results.emplace_back(Error{"Redis answered a presence renewal with something other than a value."});
    } else if (auto held = ReadPresence(AsBytes((*reply).reply.get()), renewals[i].user)) {
      results.emplace_back(std::move(held));  // a newer login: left in place
    } else {
      // Bytes no parleyd wrote keep nobody online: this connection takes the key back
      // (rare: one more round trip for this entry only).
      auto set = SetPresence(renewals[i].user, renewals[i].record, ttl);
      if (!set.ok()) {
        results.emplace_back(set.error());
      } else if (!set->written) {
        results.emplace_back(set->other);  // a later login got in between
      } else {
        results.emplace_back(std::optional<PresenceRecord>{});
      }
    }
  }
  return results;
}

std::optional<PresenceRecord> RedisNodeBus::ReadPresence(std::span<const uint8_t> bytes, const std::string& user) {
  auto record = DecodePresenceRecord(bytes);
  if (record.ok()) return std::move(*record);
  NoteMalformedRecord("the presence record of user '" + user + "'", record.error().message);
  return std::nullopt;
}

void RedisNodeBus::NoteMalformedRecord(const std::string& what, const std::string& why) {
  if (malformed_records_++ == 0) {
    spdlog::error("The node bus skipped {} in Redis, which does not decode ({}); further such records are skipped "
                  "without a log line. Is a newer parleyd or another program writing under prefix '{}'?",
                  what, why, address_.prefix);
  }
}

Status RedisNodeBus::ClearPresence(const std::string& user, const PresenceRecord& record) {
  auto reply = Command({"EVAL", kCompareAndDelete, "1", Key("presence", user), AsString(EncodePresenceRecord(record))},
                       true);
  if (!reply.ok()) return reply.error();
  return Ok{};
}

Result<std::optional<PresenceRecord>> RedisNodeBus::FindPresence(const std::string& user) {
  auto reply = Command({"GET", Key("presence", user)}, true);
  if (!reply.ok()) return reply.error();
  if ((*reply)->type == REDIS_REPLY_NIL) return std::optional<PresenceRecord>{};
  if ((*reply)->type != REDIS_REPLY_STRING) return Error{"Redis answered GET with something other than a value."};
  return ReadPresence(AsBytes((*reply).reply.get()), user);
}

// A busy claim's value: the call id, then the claiming node's id, so that only that
// node renews or releases it (docs/protocol.md, "Between nodes (Redis)").
std::string RedisNodeBus::ClaimValue(const signal::CallId& call) const { return CallBytes(call) + node_id_; }

Result<bool> RedisNodeBus::ClaimBusy(const std::string& user, const signal::CallId& call, Duration ttl) {
  auto reply = Command({"EVAL", kClaim, "1", Key("busy", user), ClaimValue(call), Milliseconds(ttl)}, true);
  if (!reply.ok()) return reply.error();
  if ((*reply)->type != REDIS_REPLY_INTEGER) return Error{"Redis answered a busy claim with something other than 0 or 1."};
  return (*reply)->integer == 1;
}

std::vector<Result<bool>> RedisNodeBus::RenewBusyClaims(std::span<const BusyClaim> claims, Duration ttl) {
  const std::string ttl_ms = Milliseconds(ttl);
  std::vector<std::vector<std::string>> commands;
  commands.reserve(claims.size());
  for (const BusyClaim& c : claims) {
    commands.push_back({"EVAL", kClaim, "1", Key("busy", c.user), ClaimValue(c.call), ttl_ms});
  }
  auto replies = Pipeline(commands);
  std::vector<Result<bool>> results;
  results.reserve(claims.size());
  for (auto& reply : replies) {
    if (!reply.ok()) {
      results.emplace_back(reply.error());
    } else if ((*reply)->type != REDIS_REPLY_INTEGER) {
      results.emplace_back(Error{"Redis answered a busy claim with something other than 0 or 1."});
    } else {
      results.emplace_back((*reply)->integer == 1);
    }
  }
  return results;
}

Status RedisNodeBus::ReleaseBusy(const std::string& user, const signal::CallId& call) {
  auto reply = Command({"EVAL", kCompareAndDelete, "1", Key("busy", user), ClaimValue(call)}, true);
  if (!reply.ok()) return reply.error();
  return Ok{};
}

Status RedisNodeBus::Send(const std::string& node, const NodeEnvelope& envelope) {
  if (!IsValidNodeId(node)) return Error{"The node bus cannot send to '" + node + "': that is not a node id."};
  // Not retried after a failure mid-command: Redis may have published it (at most once).
  auto reply = Command({"PUBLISH", Key("node", node), AsString(EncodeNodeEnvelope(envelope))}, false);
  if (!reply.ok()) return reply.error();
  if ((*reply)->type != REDIS_REPLY_INTEGER) return Error{"Redis answered PUBLISH with something other than a count."};
  if ((*reply)->integer == 0) {
    return Error{"No node '" + node + "' listens on the node bus (it is down, or reconnecting to Redis), so the "
                 "message to it was lost; calls through that node end."};
  }
  return Ok{};
}

void RedisNodeBus::SetReceiver(std::function<void(NodeEnvelope)> receiver) {
  std::lock_guard lock(mutex_);
  PARLEY_CHECK_MSG(!receiver_, "RedisNodeBus::SetReceiver is called once");
  receiver_ = std::move(receiver);
  while (!held_.empty()) {
    receiver_(std::move(held_.front()));
    held_.pop_front();
  }
}

Status RedisNodeBus::AnnounceRelay(const RelayRecord& relay, Duration ttl) {
  auto reply = Command({"EVAL", kAnnounceRelay, "2", address_.prefix + ":relays", address_.prefix + ":relay-records",
                        AsString(EncodeRelayRecord(relay)), Milliseconds(ttl), relay.id},
                       true);
  if (!reply.ok()) return reply.error();
  return Ok{};
}

Result<std::vector<RelayRecord>> RedisNodeBus::LiveRelays() {
  auto reply = Command({"EVAL", kLiveRelays, "2", address_.prefix + ":relays", address_.prefix + ":relay-records",
                        std::to_string(kMaxRelays)},
                       true);
  if (!reply.ok()) return reply.error();
  if ((*reply)->type != REDIS_REPLY_ARRAY) return Error{"Redis answered the relay list with something other than a list."};
  std::vector<RelayRecord> relays;
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    const redisReply* element = (*reply)->element[i];
    if (element->type == REDIS_REPLY_NIL) continue;  // announced without a record: skipped
    if (element->type != REDIS_REPLY_STRING) return Error{"Redis answered the relay list with a non-value entry."};
    auto relay = DecodeRelayRecord(AsBytes(element));
    if (!relay.ok()) {
      NoteMalformedRecord("a relay record", relay.error().message);  // the other relays still serve
      continue;
    }
    relays.push_back(std::move(*relay));
  }
  return relays;
}

uint64_t RedisNodeBus::malformed_envelopes() const {
  std::lock_guard lock(mutex_);
  return malformed_;
}

Result<redisContext*> RedisNodeBus::ConnectSubscriber() {
  redisContext* context =
      redisConnectWithTimeout(address_.host.c_str(), address_.port, ToTimeval(options_.connect_timeout));
  if (context == nullptr || context->err != 0) {
    std::string why = context ? context->errstr : "out of memory";
    if (context) redisFree(context);
    return Error{Unreachable(why)};
  }
  redisSetTimeout(context, ToTimeval(options_.connect_timeout));
  const char* argv[] = {"SUBSCRIBE", channel_.c_str()};
  const size_t lengths[] = {9, channel_.size()};
  auto* reply = static_cast<redisReply*>(redisCommandArgv(context, 2, argv, lengths));
  bool subscribed = reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3;
  std::string why = reply == nullptr ? context->errstr : "SUBSCRIBE was refused";
  if (reply) freeReplyObject(reply);
  if (!subscribed) {
    redisFree(context);
    return Error{Unreachable(why)};
  }
  return context;
}

bool RedisNodeBus::WaitUnlessStopping(Duration delay) {
  std::unique_lock lock(mutex_);
  stop_signal_.wait_for(lock, delay, [this] { return stopping_; });
  return !stopping_;
}

void RedisNodeBus::Deliver(NodeEnvelope envelope) {
  std::lock_guard lock(mutex_);
  if (receiver_) {
    receiver_(std::move(envelope));
  } else if (held_.size() < kMaxHeldEnvelopes) {
    held_.push_back(std::move(envelope));
  }
}

void RedisNodeBus::SubscriberLoop(redisContext* context) {
  Duration backoff = kFirstBackoff;
  bool lost_logged = false;
  while (true) {
    if (context == nullptr) {
      if (!WaitUnlessStopping(backoff)) break;
      auto reconnected = ConnectSubscriber();
      if (!reconnected.ok()) {
        backoff = std::min<Duration>(backoff * 2, kMaxBackoff);
        continue;
      }
      context = *reconnected;
      backoff = kFirstBackoff;
      spdlog::info("The node bus is receiving envelopes for node {} again.", node_id_);
      lost_logged = false;
    }
    // Hand over every complete reply already read, then wait for more bytes or the stop.
    bool broken = false;
    while (true) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(context, &raw) != REDIS_OK) {
        broken = true;
        break;
      }
      if (raw == nullptr) break;
      std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw), freeReplyObject);
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
          reply->element[0]->type != REDIS_REPLY_STRING || std::string_view(reply->element[0]->str) != "message" ||
          reply->element[2]->type != REDIS_REPLY_STRING) {
        continue;  // (un)subscribe confirmations
      }
      auto envelope = DecodeNodeEnvelope(AsBytes(reply->element[2]));
      if (!envelope.ok()) {
        std::lock_guard lock(mutex_);
        if (malformed_++ == 0) spdlog::error("Node {} dropped an envelope: {}", node_id_, envelope.error().message);
        continue;
      }
      Deliver(std::move(*envelope));
    }
    if (!broken) {
      pollfd fds[2] = {{context->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      int ready = poll(fds, 2, -1);
      if (ready < 0 && errno == EINTR) continue;
      if (fds[1].revents != 0) break;
      broken = redisBufferRead(context) != REDIS_OK;
    }
    if (broken) {
      if (!lost_logged) {
        spdlog::warn("The node bus lost its subscription for node {} ({}); reconnecting, envelopes sent meanwhile "
                     "are lost.", node_id_, context->errstr);
        lost_logged = true;
      }
      redisFree(context);
      context = nullptr;
    }
  }
  if (context) redisFree(context);
}

}  // namespace parley::server
