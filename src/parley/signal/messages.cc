// Strict parsing and canonical serialization of the signaling messages with
// nlohmann-json (kept out of messages.h: the client and the server both include it).
#include "parley/signal/messages.h"

#include <algorithm>
#include <set>
#include <span>
#include <utility>

#include <nlohmann/json.hpp>

#include "parley/base/check.h"
#include "parley/crypto/encoding.h"
#include "parley/net/candidate_address.h"

namespace parley::signal {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// --- Enumerations ------------------------------------------------------------------

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

constexpr EnumName<Audience> kAudienceNames[] = {
    {Audience::kEveryone, "everyone"}, {Audience::kContacts, "contacts"}, {Audience::kNobody, "nobody"}};

constexpr EnumName<EndReason> kEndReasonNames[] = {
    {EndReason::kNotFound, "not_found"},     {EndReason::kBusy, "busy"},
    {EndReason::kUnavailable, "unavailable"}, {EndReason::kDeclined, "declined"},
    {EndReason::kCancelled, "cancelled"},    {EndReason::kHangup, "hangup"},
    {EndReason::kTimeout, "timeout"},        {EndReason::kRateLimited, "rate_limited"},
    {EndReason::kFailed, "failed"}};

constexpr EnumName<ErrorCode> kErrorCodeNames[] = {
    {ErrorCode::kBadMessage, "bad_message"},
    {ErrorCode::kUnknownType, "unknown_type"},
    {ErrorCode::kUnexpected, "unexpected"},
    {ErrorCode::kNotLoggedIn, "not_logged_in"},
    {ErrorCode::kAlreadyLoggedIn, "already_logged_in"},
    {ErrorCode::kBadSignature, "bad_signature"},
    {ErrorCode::kNoSuchAccount, "no_such_account"},
    {ErrorCode::kUsernameTaken, "username_taken"},
    {ErrorCode::kInvalidUsername, "invalid_username"},
    {ErrorCode::kInvalidDevice, "invalid_device"},
    {ErrorCode::kNoSuchUser, "no_such_user"},
    {ErrorCode::kNoSuchCall, "no_such_call"},
    {ErrorCode::kNotAllowed, "not_allowed"},
    {ErrorCode::kInCall, "in_call"},
    {ErrorCode::kRateLimited, "rate_limited"},
    {ErrorCode::kReplaced, "replaced"},
    {ErrorCode::kInternal, "internal"}};

constexpr EnumName<CallOutcome> kCallOutcomeNames[] = {
    {CallOutcome::kAnswered, "answered"},   {CallOutcome::kDeclined, "declined"},
    {CallOutcome::kBusy, "busy"},           {CallOutcome::kCancelled, "cancelled"},
    {CallOutcome::kMissed, "missed"},       {CallOutcome::kFailed, "failed"}};

std::span<const EnumName<Audience>> TableOf(Audience) { return kAudienceNames; }
std::span<const EnumName<EndReason>> TableOf(EndReason) { return kEndReasonNames; }
std::span<const EnumName<ErrorCode>> TableOf(ErrorCode) { return kErrorCodeNames; }
std::span<const EnumName<CallOutcome>> TableOf(CallOutcome) { return kCallOutcomeNames; }

template <class E>
std::string_view NameOf(E value) {
  for (const auto& entry : TableOf(value)) {
    if (entry.value == value) return entry.name;
  }
  PARLEY_CHECK_MSG(false, "enumerator without a wire name");
  return {};
}

template <class E>
std::optional<E> FromName(std::string_view name) {
  for (const auto& entry : TableOf(E{})) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

template <class E>
std::string Choices() {
  std::string out;
  for (const auto& entry : TableOf(E{})) {
    if (!out.empty()) out += ", ";
    out += "'" + std::string(entry.name) + "'";
  }
  return out;
}

// Outside text quoted in an error: short, and cut only between UTF-8 characters.
std::string Quote(std::string_view text) {
  constexpr std::size_t kMax = 40;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;
  return "'" + std::string(text.substr(0, cut)) + "...'";
}

// --- Field limits ------------------------------------------------------------------

struct TextSize {
  std::size_t min, max;
};
constexpr TextSize kNameSize{1, kMaxNameBytes};
constexpr TextSize kServerSize{1, 255};
constexpr TextSize kHostSize{1, kMaxHostBytes};
constexpr TextSize kMessageTextSize{1, kMaxTextBytes};

struct BinarySize {
  std::size_t min, max;
};
constexpr BinarySize kCommitBytes{crypto::kCommitSize, crypto::kCommitSize};
constexpr BinarySize kAcceptBytes{crypto::kAcceptSize, crypto::kAcceptSize};
constexpr BinarySize kRevealBytes{crypto::kRevealSize, crypto::kRevealSize};
constexpr BinarySize kTicketBytes{1, kMaxTicketBytes};
constexpr BinarySize kRelayKeyBytes{32, 32};

struct IntRange {
  int64_t min, max;
};
constexpr IntRange kUnixMsRange{0, static_cast<int64_t>(kMaxRequestId)};
constexpr IntRange kHistoryLimitRange{1, kMaxHistoryLimit};

// --- Reading -----------------------------------------------------------------------

// Reads the fields of one JSON object, keeping the first error and the names used, so
// a message's field list is written once (Describe) and unknown fields are refused.
class Reader {
 public:
  Reader(const Json& object, std::string_view type, std::string path_prefix)
      : object_(object), type_(type), prefix_(std::move(path_prefix)) {}

  void Field(const char* name, std::string& out, TextSize size) {
    const Json* value = Get(name);
    if (value == nullptr) return;
    if (!value->is_string()) return Fail(name, "must be a string");
    const auto& text = value->get_ref<const std::string&>();
    if (text.size() < size.min || text.size() > size.max) {
      return Fail(name, "must be a string of " + std::to_string(size.min) + " to " +
                            std::to_string(size.max) + " bytes, not " + std::to_string(text.size()));
    }
    out = text;
  }

  template <std::size_t N>
  void Field(const char* name, std::array<uint8_t, N>& out) {
    std::vector<uint8_t> bytes;
    Field(name, bytes, BinarySize{N, N});
    if (bytes.size() == N) std::copy(bytes.begin(), bytes.end(), out.begin());
  }

  void Field(const char* name, std::vector<uint8_t>& out, BinarySize size) {
    const Json* value = Get(name);
    if (value == nullptr) return;
    const std::string expected =
        size.min == size.max ? std::to_string(size.min) + " bytes"
                             : std::to_string(size.min) + " to " + std::to_string(size.max) + " bytes";
    if (!value->is_string()) return Fail(name, "must be a string of base64url (" + expected + ")");
    const auto& text = value->get_ref<const std::string&>();
    // Reject before decoding what cannot fit: base64 has 4 characters per 3 bytes.
    if (text.size() > (size.max + 2) / 3 * 4) {
      return Fail(name, "must be " + expected + " of base64url, not longer");
    }
    auto decoded = crypto::FromBase64(text);
    if (!decoded.ok()) return Fail(name, "is not valid base64url without padding");
    if (decoded->size() < size.min || decoded->size() > size.max) {
      return Fail(name, "must be " + expected + ", not " + std::to_string(decoded->size()));
    }
    out = std::move(decoded).value();
  }

  void Field(const char* name, bool& out) {
    const Json* value = Get(name);
    if (value == nullptr) return;
    if (!value->is_boolean()) return Fail(name, "must be true or false");
    out = value->get<bool>();
  }

  void Field(const char* name, uint16_t& out) {
    int64_t wide = 0;
    Integer(name, wide, IntRange{1, 65535});
    out = static_cast<uint16_t>(wide);
  }

  void Field(const char* name, int64_t& out, IntRange range) { Integer(name, out, range); }

  void Field(const char* name, int& out, IntRange range) {
    if (object_.find(name) == object_.end()) {
      used_.insert(name);  // optional: the default stays
      return;
    }
    int64_t wide = out;
    Integer(name, wide, range);
    out = static_cast<int>(wide);
  }

  void Field(const char* name, RequestId& out) {
    if (object_.find(name) == object_.end()) {
      used_.insert(name);
      return;
    }
    int64_t wide = 0;
    Integer(name, wide, IntRange{0, static_cast<int64_t>(kMaxRequestId)});
    out = static_cast<uint64_t>(wide);
  }

  template <class E>
    requires std::is_enum_v<E>
  void Field(const char* name, E& out) {
    const Json* value = Get(name);
    if (value == nullptr) return;
    std::optional<E> parsed;
    if (value->is_string()) parsed = FromName<E>(value->get_ref<const std::string&>());
    if (!parsed) return Fail(name, "must be one of " + Choices<E>());
    out = *parsed;
  }

  template <class E>
    requires std::is_enum_v<E>
  void Field(const char* name, std::optional<E>& out) {
    if (object_.find(name) == object_.end()) {
      used_.insert(name);
      return;
    }
    E value{};
    Field(name, value);
    if (!error_) out = value;
  }

  void Field(const char* name, std::vector<std::string>& out, TextSize size) {
    const Json* value = Get(name);
    if (value == nullptr) return;
    if (!value->is_array() || value->size() > kMaxListEntries) {
      return Fail(name, "must be a list of at most " + std::to_string(kMaxListEntries) + " strings");
    }
    for (std::size_t i = 0; i < value->size(); ++i) {
      const Json& item = (*value)[i];
      if (!item.is_string() || item.get_ref<const std::string&>().size() < size.min ||
          item.get_ref<const std::string&>().size() > size.max) {
        return Fail(std::string(name) + "[" + std::to_string(i) + "]",
                    "must be a string of " + std::to_string(size.min) + " to " +
                        std::to_string(size.max) + " bytes");
      }
      out.push_back(item.get<std::string>());
    }
  }

  // P2P candidates: 1..net::kMaxCandidates strings "A.B.C.D:PORT" or "[IPV6]:PORT",
  // each passing net::CheckCandidate.
  void Field(const char* name, std::vector<net::UdpEndpoint>& out) {
    const Json* value = Get(name);
    if (value == nullptr) return;
    if (!value->is_array() || value->empty() || value->size() > net::kMaxCandidates) {
      return Fail(name, "must be a list of 1 to " + std::to_string(net::kMaxCandidates) + " addresses");
    }
    for (std::size_t i = 0; i < value->size(); ++i) {
      const std::string item_name = std::string(name) + "[" + std::to_string(i) + "]";
      const Json& item = (*value)[i];
      if (!item.is_string() || item.get_ref<const std::string&>().size() > 64) {
        return Fail(item_name, "must be a string such as \"203.0.113.7:40000\" or \"[2001:db8::7]:40000\"");
      }
      auto endpoint = net::UdpEndpoint::Parse(item.get_ref<const std::string&>());
      if (!endpoint.ok()) {
        return Fail(item_name, "is not a numeric address and port such as \"203.0.113.7:40000\" or "
                               "\"[2001:db8::7]:40000\"");
      }
      if (Status usable = net::CheckCandidate(*endpoint); !usable.ok()) {
        return Fail(item_name, usable.error().message);
      }
      out.push_back(*endpoint);
    }
  }

  void Field(const char* name, std::vector<CallRecord>& out);  // below Describe(CallRecord)
  void Field(const char* name, std::vector<RelayAddress>& out);  // below Describe(RelayAddress)

  Status Finish() {
    if (!error_) {
      for (const auto& [key, value] : object_.items()) {
        if (used_.count(key) == 0) {
          error_ = Error{Where() + " has a field " + Quote(prefix_ + key) +
                         " that it does not define; remove it."};
          break;
        }
      }
    }
    if (error_) return *error_;
    return Ok{};
  }

  void MarkUsed(const char* name) { used_.insert(name); }

 private:
  std::string Where() const { return "The '" + std::string(type_) + "' message"; }

  const Json* Get(const char* name) {
    used_.insert(name);
    if (error_) return nullptr;
    auto it = object_.find(name);
    if (it == object_.end()) {
      error_ = Error{Where() + " is missing the field '" + prefix_ + name + "'."};
      return nullptr;
    }
    return &*it;
  }

  void Fail(const std::string& name, const std::string& what) {
    if (error_) return;
    error_ = Error{"Field '" + prefix_ + name + "' of the '" + std::string(type_) + "' message " + what + "."};
  }

  void Integer(const char* name, int64_t& out, IntRange range) {
    const Json* value = Get(name);
    if (value == nullptr) return;
    const std::string expected =
        "must be a whole number from " + std::to_string(range.min) + " to " + std::to_string(range.max);
    if (value->is_number_unsigned()) {
      const uint64_t v = value->get<uint64_t>();
      if (v > static_cast<uint64_t>(range.max) || static_cast<int64_t>(v) < range.min) {
        return Fail(name, expected);
      }
      out = static_cast<int64_t>(v);
      return;
    }
    if (value->is_number_integer()) {  // negative
      const int64_t v = value->get<int64_t>();
      if (v < range.min || v > range.max) return Fail(name, expected);
      out = v;
      return;
    }
    Fail(name, expected);
  }

  const Json& object_;
  std::string_view type_;
  std::string prefix_;  // "missed_calls[2]." inside a list of records
  std::set<std::string, std::less<>> used_;
  std::optional<Error> error_;
};

// --- Writing -----------------------------------------------------------------------

// The mirror of Reader: same calls, writes the fields in call order.
class Writer {
 public:
  explicit Writer(OrderedJson& out) : out_(out) {}

  void Field(const char* name, std::string& value, TextSize) { out_[name] = value; }
  template <std::size_t N>
  void Field(const char* name, std::array<uint8_t, N>& value) {
    out_[name] = crypto::ToBase64(value);
  }
  void Field(const char* name, std::vector<uint8_t>& value, BinarySize) {
    out_[name] = crypto::ToBase64(value);
  }
  void Field(const char* name, bool& value) { out_[name] = value; }
  void Field(const char* name, uint16_t& value) { out_[name] = value; }
  void Field(const char* name, int64_t& value, IntRange) { out_[name] = value; }
  void Field(const char* name, int& value, IntRange) { out_[name] = value; }
  template <class E>
    requires std::is_enum_v<E>
  void Field(const char* name, E& value) {
    out_[name] = std::string(NameOf(value));
  }
  template <class E>
    requires std::is_enum_v<E>
  void Field(const char* name, std::optional<E>& value) {
    if (value) out_[name] = std::string(NameOf(*value));
  }
  void Field(const char* name, std::vector<std::string>& value, TextSize) {
    out_[name] = OrderedJson::array();
    for (const auto& item : value) out_[name].push_back(item);
  }
  void Field(const char* name, std::vector<net::UdpEndpoint>& value) {
    out_[name] = OrderedJson::array();
    for (const auto& item : value) out_[name].push_back(item.ToString());
  }
  void Field(const char* name, std::vector<CallRecord>& value);
  void Field(const char* name, std::vector<RelayAddress>& value);

 private:
  OrderedJson& out_;
};

// --- The fields of each message, in wire order (docs/protocol.md) -----------------

template <class V> void Describe(V& v, CallRecord& m) {
  v.Field("call_id", m.call_id);
  v.Field("caller", m.caller, kNameSize);
  v.Field("callee", m.callee, kNameSize);
  v.Field("started_unix_ms", m.started_unix_ms, kUnixMsRange);
  v.Field("answered_unix_ms", m.answered_unix_ms, kUnixMsRange);
  v.Field("ended_unix_ms", m.ended_unix_ms, kUnixMsRange);
  v.Field("outcome", m.outcome);
}

template <class V> void Describe(V& v, RelayAddress& m) {
  v.Field("host", m.host, kHostSize);
  v.Field("port", m.port);
}

template <class V> void Describe(V& v, Hello& m) {
  v.Field("challenge", m.challenge);
  v.Field("server", m.server, kServerSize);
}
template <class V> void Describe(V& v, Welcome& m) {
  v.Field("user", m.user, kNameSize);
  v.Field("device", m.device, kNameSize);
  v.Field("missed_calls", m.missed_calls);
}
template <class V> void Describe(V& v, ErrorReply& m) {
  v.Field("code", m.code);
  v.Field("message", m.message, kMessageTextSize);
}
template <class V> void Describe(V&, OkReply&) {}
template <class V> void Describe(V& v, Route& m) {
  v.Field("call_id", m.call_id);
  v.Field("to_device", m.to_device, kNameSize);
}
template <class V> void Describe(V& v, Incoming& m) {
  v.Field("call_id", m.call_id);
  v.Field("from", m.from, kNameSize);
  v.Field("from_device", m.from_device, kNameSize);
  v.Field("commit", m.commit, kCommitBytes);
}
template <class V> void Describe(V& v, Ringing& m) { v.Field("call_id", m.call_id); }
template <class V> void Describe(V& v, Accepted& m) {
  v.Field("call_id", m.call_id);
  v.Field("key", m.key, kAcceptBytes);
}
template <class V> void Describe(V& v, Revealed& m) {
  v.Field("call_id", m.call_id);
  v.Field("key", m.key, kRevealBytes);
}
template <class V> void Describe(V& v, Relay& m) {
  v.Field("call_id", m.call_id);
  v.Field("host", m.host, kHostSize);
  v.Field("port", m.port);
  v.Field("ticket", m.ticket, kTicketBytes);
  v.Field("p2p", m.p2p);
  v.Field("hop_key", m.hop_key, kRelayKeyBytes);
  v.Field("bind_key", m.bind_key, kRelayKeyBytes);
  v.Field("alternates", m.alternates);
}
template <class V> void Describe(V& v, PeerCandidates& m) {
  v.Field("call_id", m.call_id);
  v.Field("candidates", m.candidates);
}
template <class V> void Describe(V& v, Ended& m) {
  v.Field("call_id", m.call_id);
  v.Field("reason", m.reason);
}
template <class V> void Describe(V& v, Presence& m) {
  v.Field("user", m.user, kNameSize);
  v.Field("online", m.online);
}
template <class V> void Describe(V& v, ContactList& m) { v.Field("users", m.users, kNameSize); }
template <class V> void Describe(V& v, BlockList& m) { v.Field("users", m.users, kNameSize); }
template <class V> void Describe(V& v, CurrentSettings& m) {
  v.Field("who_may_call", m.who_may_call);
  v.Field("p2p", m.p2p);
}
template <class V> void Describe(V& v, CallHistory& m) { v.Field("calls", m.calls); }
template <class V> void Describe(V& v, PathTestTickets& m) {
  v.Field("call_id", m.call_id);
  v.Field("host", m.host, kHostSize);
  v.Field("port", m.port);
  v.Field("ticket_0", m.ticket_0, kTicketBytes);
  v.Field("hop_key_0", m.hop_key_0, kRelayKeyBytes);
  v.Field("ticket_1", m.ticket_1, kTicketBytes);
  v.Field("hop_key_1", m.hop_key_1, kRelayKeyBytes);
  v.Field("bind_key", m.bind_key, kRelayKeyBytes);
}
template <class V> void Describe(V& v, Register& m) {
  v.Field("user", m.user, kNameSize);
  v.Field("device", m.device, kNameSize);
  v.Field("identity_key", m.identity_key);
  v.Field("signature", m.signature);
}
template <class V> void Describe(V& v, Login& m) {
  v.Field("user", m.user, kNameSize);
  v.Field("device", m.device, kNameSize);
  v.Field("signature", m.signature);
}
template <class V> void Describe(V& v, DeleteAccount& m) { v.Field("signature", m.signature); }
template <class V> void Describe(V& v, Invite& m) {
  v.Field("call_id", m.call_id);
  v.Field("to", m.to, kNameSize);
}
template <class V> void Describe(V& v, Offer& m) {
  v.Field("call_id", m.call_id);
  v.Field("commit", m.commit, kCommitBytes);
}
template <class V> void Describe(V& v, Accept& m) {
  v.Field("call_id", m.call_id);
  v.Field("key", m.key, kAcceptBytes);
}
template <class V> void Describe(V& v, Reveal& m) {
  v.Field("call_id", m.call_id);
  v.Field("key", m.key, kRevealBytes);
}
template <class V> void Describe(V& v, Decline& m) { v.Field("call_id", m.call_id); }
template <class V> void Describe(V& v, Cancel& m) { v.Field("call_id", m.call_id); }
template <class V> void Describe(V& v, Hangup& m) { v.Field("call_id", m.call_id); }
template <class V> void Describe(V& v, ContactsAdd& m) { v.Field("user", m.user, kNameSize); }
template <class V> void Describe(V& v, ContactsRemove& m) { v.Field("user", m.user, kNameSize); }
template <class V> void Describe(V&, ContactsList&) {}
template <class V> void Describe(V& v, BlockUser& m) { v.Field("user", m.user, kNameSize); }
template <class V> void Describe(V& v, UnblockUser& m) { v.Field("user", m.user, kNameSize); }
template <class V> void Describe(V&, Blocks&) {}
template <class V> void Describe(V& v, Settings& m) {
  v.Field("who_may_call", m.who_may_call);
  v.Field("p2p", m.p2p);
}
template <class V> void Describe(V& v, History& m) { v.Field("limit", m.limit, kHistoryLimitRange); }
template <class V> void Describe(V&, PathTest&) {}
template <class V> void Describe(V& v, AppInvite& m) { v.Field("invite", m.invite); }
template <class V> void Describe(V&, NewAppInvite&) {}
template <class V> void Describe(V& v, Candidates& m) {
  v.Field("call_id", m.call_id);
  v.Field("candidates", m.candidates);
}

void Reader::Field(const char* name, std::vector<CallRecord>& out) {
  const Json* value = Get(name);
  if (value == nullptr) return;
  if (!value->is_array() || value->size() > kMaxListEntries) {
    return Fail(name, "must be a list of at most " + std::to_string(kMaxListEntries) + " call records");
  }
  for (std::size_t i = 0; i < value->size() && !error_; ++i) {
    const std::string item_name = std::string(name) + "[" + std::to_string(i) + "]";
    const Json& item = (*value)[i];
    if (!item.is_object()) return Fail(item_name, "must be an object");
    Reader reader(item, type_, prefix_ + item_name + ".");
    CallRecord record;
    Describe(reader, record);
    Status status = reader.Finish();
    if (!status.ok()) {
      error_ = status.error();
      return;
    }
    out.push_back(std::move(record));
  }
}

void Writer::Field(const char* name, std::vector<CallRecord>& value) {
  OrderedJson list = OrderedJson::array();
  for (auto& record : value) {
    OrderedJson item = OrderedJson::object();
    Writer writer(item);
    Describe(writer, record);
    list.push_back(std::move(item));
  }
  out_[name] = std::move(list);
}

// Optional: absent means none, and an empty list is written as absent, so a `relay`
// without alternates reads exactly as before they existed.
void Reader::Field(const char* name, std::vector<RelayAddress>& out) {
  if (object_.find(name) == object_.end()) {
    used_.insert(name);
    return;
  }
  const Json* value = Get(name);
  if (value == nullptr) return;
  if (!value->is_array() || value->size() > kMaxRelayAlternates) {
    return Fail(name, "must be a list of at most " + std::to_string(kMaxRelayAlternates) +
                          " relays such as {\"host\": \"relay2.example.org\", \"port\": 3478}");
  }
  for (std::size_t i = 0; i < value->size() && !error_; ++i) {
    const std::string item_name = std::string(name) + "[" + std::to_string(i) + "]";
    const Json& item = (*value)[i];
    if (!item.is_object()) return Fail(item_name, "must be an object with 'host' and 'port'");
    Reader reader(item, type_, prefix_ + item_name + ".");
    RelayAddress address;
    Describe(reader, address);
    Status status = reader.Finish();
    if (!status.ok()) {
      error_ = status.error();
      return;
    }
    out.push_back(std::move(address));
  }
}

void Writer::Field(const char* name, std::vector<RelayAddress>& value) {
  if (value.empty()) return;
  OrderedJson list = OrderedJson::array();
  for (auto& address : value) {
    OrderedJson item = OrderedJson::object();
    Writer writer(item);
    Describe(writer, address);
    list.push_back(std::move(item));
  }
  out_[name] = std::move(list);
}

// --- Dispatch ----------------------------------------------------------------------

struct TooDeep {};
struct DuplicateKey {
  std::string key;
};

template <class T>
Result<Message> ParseAs(const Json& object) {
  T message;
  Reader reader(object, T::kType, "");
  reader.MarkUsed("type");
  reader.Field("id", message.id);
  Describe(reader, message);
  Status status = reader.Finish();
  if (!status.ok()) return status.error();
  return Message{std::move(message)};
}

template <std::size_t I = 0>
Result<Message> ParseByType(std::string_view type, const Json& object) {
  if constexpr (I == std::variant_size_v<Message>) {
    return Error{"Unknown message type " + Quote(type) + "; see docs/protocol.md, \"Signaling\"."};
  } else {
    using T = std::variant_alternative_t<I, Message>;
    if (type == T::kType) return ParseAs<T>(object);
    return ParseByType<I + 1>(type, object);
  }
}

// Parses with the nesting and duplicate-key checks applied while parsing, so deep
// input is refused before it is built.
Result<Json> ParseJson(std::string_view text) {
  if (text.size() > kMaxMessageBytes) {
    return Error{"The message is " + std::to_string(text.size()) + " bytes; the limit is " +
                 std::to_string(kMaxMessageBytes) + "."};
  }
  std::vector<std::set<std::string>> keys;  // one set per open object
  Json::parser_callback_t guard = [&keys](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        if (depth >= kMaxNestingDepth) throw TooDeep{};
        keys.emplace_back();
        break;
      case Json::parse_event_t::array_start:
        if (depth >= kMaxNestingDepth) throw TooDeep{};
        break;
      case Json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) {
          throw DuplicateKey{parsed.get<std::string>()};
        }
        break;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), guard, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const TooDeep&) {
    return Error{"The message nests objects and lists deeper than " + std::to_string(kMaxNestingDepth) +
                 " levels."};
  } catch (const DuplicateKey& duplicate) {
    return Error{"The message has the field " + Quote(duplicate.key) + " twice."};
  } catch (const Json::parse_error& error) {
    return Error{"The message is not valid JSON (error at byte " + std::to_string(error.byte) + ")."};
  } catch (const Json::exception&) {
    return Error{"The message is not valid JSON."};
  }
}

}  // namespace

Result<Message> ParseMessage(std::string_view text) {
  auto json = ParseJson(text);
  if (!json.ok()) return json.error();
  if (!json->is_object()) return Error{"A message must be a JSON object."};
  auto type = json->find("type");
  if (type == json->end()) return Error{"The message has no field 'type'."};
  if (!type->is_string()) return Error{"Field 'type' of the message must be a string."};
  return ParseByType(type->get_ref<const std::string&>(), *json);
}

std::string SerializeMessage(const Message& message) {
  return std::visit(
      [](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        OrderedJson out = OrderedJson::object();
        out["type"] = std::string(T::kType);
        if (m.id) out["id"] = *m.id;
        Writer writer(out);
        // Writer only reads the fields; Describe takes non-const references so one field
        // list serves both directions.
        Describe(writer, const_cast<T&>(m));
        // Strings come from parsed (valid UTF-8) input or from our own text; replace
        // rather than throw if a caller broke that.
        return out.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
      },
      message);
}

std::string_view MessageType(const Message& message) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kType; }, message);
}

RequestId MessageId(const Message& message) {
  return std::visit([](const auto& m) { return m.id; }, message);
}

bool IsClientMessage(const Message& message) {
  return message.index() >= Message(Register{}).index();
}

RequestPeek PeekRequest(std::string_view text) {
  RequestPeek peek;
  auto json = ParseJson(text);
  if (!json.ok() || !json->is_object()) return peek;
  auto id = json->find("id");
  if (id != json->end() && id->is_number_unsigned() && id->get<uint64_t>() <= kMaxRequestId) {
    peek.id = id->get<uint64_t>();
  }
  auto type = json->find("type");
  if (type != json->end() && type->is_string()) peek.type = type->get<std::string>();
  return peek;
}

bool IsKnownType(std::string_view type) {
  return [type]<std::size_t... I>(std::index_sequence<I...>) {
    return ((std::variant_alternative_t<I, Message>::kType == type) || ...);
  }(std::make_index_sequence<std::variant_size_v<Message>>{});
}

std::string_view ToString(Audience audience) { return NameOf(audience); }
std::string_view ToString(EndReason reason) { return NameOf(reason); }
std::string_view ToString(ErrorCode code) { return NameOf(code); }
std::string_view ToString(CallOutcome outcome) { return NameOf(outcome); }

std::string DescribeEnd(EndReason reason, std::string_view peer) {
  const std::string who(peer);
  switch (reason) {
    case EndReason::kNotFound:
      return who + " cannot be called: there is no such user, or they do not take calls from you.";
    case EndReason::kBusy:
      return who + " is busy in another call; try again later.";
    case EndReason::kUnavailable:
      return who + " is not online right now.";
    case EndReason::kDeclined:
      return who + " declined the call.";
    case EndReason::kCancelled:
      return who + " cancelled the call.";
    case EndReason::kHangup:
      return who + " hung up (or lost the connection).";
    case EndReason::kTimeout:
      return "The call with " + who + " was not answered in time.";
    case EndReason::kRateLimited:
      return "You started too many calls in a short time; wait a minute and try again.";
    case EndReason::kFailed:
      return "The server could not set up the call with " + who + "; try again later.";
  }
  return "The call with " + who + " ended.";
}

Status ValidateDeviceName(std::string_view device) {
  const bool allowed = std::all_of(device.begin(), device.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
  if (device.empty() || device.size() > 32 || !allowed) {
    return Error{"The device name " + Quote(device) +
                 " is not allowed: use 1 to 32 letters, digits, '_', '.' and '-'."};
  }
  return Ok{};
}

std::vector<uint8_t> AuthSignedBytes(AuthPurpose purpose, const Challenge& challenge,
                                     std::string_view user, std::string_view device,
                                     std::string_view server) {
  std::string_view label;
  switch (purpose) {
    case AuthPurpose::kRegister: label = "parley-v1 register"; break;
    case AuthPurpose::kLogin: label = "parley-v1 login"; break;
    case AuthPurpose::kDeleteAccount: label = "parley-v1 delete-account"; break;
  }
  std::vector<uint8_t> out(label.begin(), label.end());
  out.push_back(0x00);
  out.insert(out.end(), challenge.begin(), challenge.end());
  for (std::string_view name : {user, device, server}) {
    const std::size_t length = std::min<std::size_t>(name.size(), 255);
    out.push_back(static_cast<uint8_t>(length));
    out.insert(out.end(), name.begin(), name.begin() + static_cast<std::ptrdiff_t>(length));
  }
  return out;
}

}  // namespace parley::signal
