// Tests of the signaling messages: every message round-trips canonically, and every
// kind of bad input gets a clear error that names the field.
#include "parley/signal/messages.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "parley/crypto/encoding.h"

namespace parley::signal {
namespace {

std::vector<uint8_t> Bytes(std::size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

template <std::size_t N>
std::array<uint8_t, N> Array(uint8_t seed) {
  std::array<uint8_t, N> out{};
  auto bytes = Bytes(N, seed);
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

net::UdpEndpoint Endpoint(const char* text) {
  auto e = net::UdpEndpoint::Parse(text);
  PARLEY_CHECK_MSG(e.ok(), text);
  return *e;
}

CallRecord SampleRecord(uint8_t seed, CallOutcome outcome) {
  return CallRecord{Array<16>(seed), "alice", "bob", 1700000000000, outcome == CallOutcome::kAnswered ? 1700000001000 : 0,
                    1700000009000, outcome};
}

// A JSON string of 32 bytes of base64url, for relay keys.
std::string kKey32Text() { return "\"" + crypto::ToBase64(std::vector<uint8_t>(32, 2)) + "\""; }

// One or more of every message, with every optional field both present and absent.
std::vector<Message> Samples() {
  const CallId call = Array<16>(0xc0);
  return {
      Hello{std::nullopt, Array<32>(1), "parley.example"},
      Welcome{std::nullopt, "alice", "laptop", {}},
      Welcome{7, "bob", "phone", {SampleRecord(2, CallOutcome::kMissed), SampleRecord(3, CallOutcome::kMissed)}},
      ErrorReply{12, ErrorCode::kUsernameTaken, "The username 'alice' is taken; choose another."},
      ErrorReply{std::nullopt, ErrorCode::kInternal, "Try again later."},
      OkReply{3},
      OkReply{std::nullopt},
      Route{4, call, "phone"},
      Incoming{std::nullopt, call, "alice", "laptop", Bytes(crypto::kCommitSize, 5)},
      Ringing{5, call},
      Accepted{std::nullopt, call, Bytes(crypto::kAcceptSize, 6)},
      Revealed{std::nullopt, call, Bytes(crypto::kRevealSize, 7)},
      Relay{.id = std::nullopt, .call_id = call, .host = "relay.example", .port = 3478, .ticket = Bytes(40, 8),
            .hop_key = Bytes(32, 10), .bind_key = Bytes(32, 11)},
      Relay{.id = std::nullopt, .call_id = call, .host = "relay.example", .port = 443, .ticket = Bytes(40, 9),
            .p2p = true, .hop_key = Bytes(32, 12), .bind_key = Bytes(32, 13)},
      Relay{.id = 3, .call_id = call, .host = "relay1.example", .port = 3478, .ticket = Bytes(40, 9),
            .hop_key = Bytes(32, 12), .bind_key = Bytes(32, 13),
            .alternates = {{"relay2.example", 3479}, {"192.0.2.9", 40000}, {"relay4.example", 1}}},
      PeerCandidates{std::nullopt, call, {Endpoint("203.0.113.7:40000"), Endpoint("[2001:db8::7]:40000")}},
      Ended{std::nullopt, call, EndReason::kDeclined},
      Ended{9, call, EndReason::kNotFound},
      Presence{std::nullopt, "carol", true},
      Presence{std::nullopt, "carol", false},
      ContactList{10, {"bob", "carol"}},
      ContactList{11, {}},
      BlockList{12, {"mallory"}},
      CurrentSettings{13, Audience::kContacts, Audience::kNobody},
      CallHistory{14, {SampleRecord(9, CallOutcome::kAnswered), SampleRecord(10, CallOutcome::kDeclined)}},
      Register{1, "alice", "laptop", Array<32>(11), Array<64>(12)},
      Login{2, "alice", "laptop", Array<64>(13)},
      DeleteAccount{3, Array<64>(14)},
      Invite{4, call, "bob"},
      Offer{5, call, Bytes(crypto::kCommitSize, 15)},
      Accept{6, call, Bytes(crypto::kAcceptSize, 16)},
      Reveal{7, call, Bytes(crypto::kRevealSize, 17)},
      Decline{8, call},
      Cancel{std::nullopt, call},
      Hangup{kMaxRequestId, call},
      ContactsAdd{9, "bob"},
      ContactsRemove{10, "bob"},
      ContactsList{11},
      BlockUser{12, "mallory"},
      UnblockUser{13, "mallory"},
      Blocks{14},
      Settings{15, Audience::kNobody, std::nullopt},
      Settings{16, std::nullopt, Audience::kEveryone},
      Settings{17, std::nullopt, std::nullopt},
      History{18, 1},
      History{19, kMaxHistoryLimit},
      Candidates{20, call, {Endpoint("192.168.1.20:51000")}},
      Candidates{std::nullopt, call,
                 std::vector<net::UdpEndpoint>(net::kMaxCandidates, Endpoint("[2001:db8::1]:9"))},
      PathTest{21},
      PathTestTickets{21, call, "relay.example", 443, Bytes(73, 1), Bytes(32, 2), Bytes(73, 3), Bytes(32, 4),
                      Bytes(32, 5)},
      NewAppInvite{22},
      AppInvite{22, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
  };
}

TEST(MessagesTest, EveryMessageRoundTripsCanonically) {
  std::set<std::size_t> covered;
  for (const Message& message : Samples()) {
    covered.insert(message.index());
    const std::string json = SerializeMessage(message);
    auto parsed = ParseMessage(json);
    ASSERT_TRUE(parsed.ok()) << json << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, message) << json;
    EXPECT_EQ(SerializeMessage(*parsed), json);
    EXPECT_EQ(MessageType(*parsed), MessageType(message));
    EXPECT_EQ(MessageId(*parsed), MessageId(message));
    // "type" comes first, then "id" when present.
    EXPECT_EQ(json.rfind("{\"type\":\"" + std::string(MessageType(message)) + "\"", 0), 0u) << json;
  }
  EXPECT_EQ(covered.size(), std::variant_size_v<Message>);
}

TEST(MessagesTest, ExactWireForm) {
  CallId call{};
  for (std::size_t i = 0; i < call.size(); ++i) call[i] = static_cast<uint8_t>(0xc0 + i);
  EXPECT_EQ(SerializeMessage(Invite{4, call, "bob"}),
            R"({"type":"invite","id":4,"call_id":"wMHCw8TFxsfIycrLzM3Ozw","to":"bob"})");
  EXPECT_EQ(SerializeMessage(Ended{std::nullopt, call, EndReason::kNotFound}),
            R"({"type":"ended","call_id":"wMHCw8TFxsfIycrLzM3Ozw","reason":"not_found"})");
  EXPECT_EQ(SerializeMessage(Settings{2, std::nullopt, Audience::kNobody}),
            R"({"type":"settings","id":2,"p2p":"nobody"})");
  EXPECT_EQ(SerializeMessage(History{std::nullopt, 20}), R"({"type":"history","limit":20})");
  EXPECT_EQ(SerializeMessage(Candidates{5, call, {Endpoint("192.168.1.20:51000"), Endpoint("[2001:db8::7]:40000")}}),
            R"({"type":"candidates","id":5,"call_id":"wMHCw8TFxsfIycrLzM3Ozw","candidates":["192.168.1.20:51000","[2001:db8::7]:40000"]})");
  EXPECT_EQ(SerializeMessage(Relay{std::nullopt, call, "r.example", 443, {1, 2, 3}, true, Bytes(32, 0), Bytes(32, 1)}),
            R"({"type":"relay","call_id":"wMHCw8TFxsfIycrLzM3Ozw","host":"r.example","port":443,"ticket":"AQID","p2p":true,)"
            R"("hop_key":")" + crypto::ToBase64(Bytes(32, 0)) + R"(","bind_key":")" + crypto::ToBase64(Bytes(32, 1)) +
                R"("})");
  EXPECT_EQ(SerializeMessage(Relay{std::nullopt, call, "r.example", 443, {1, 2, 3}, false, Bytes(32, 0), Bytes(32, 1),
                                   {{"r2.example", 3478}}}),
            R"({"type":"relay","call_id":"wMHCw8TFxsfIycrLzM3Ozw","host":"r.example","port":443,"ticket":"AQID","p2p":false,)"
            R"("hop_key":")" + crypto::ToBase64(Bytes(32, 0)) + R"(","bind_key":")" + crypto::ToBase64(Bytes(32, 1)) +
                R"(","alternates":[{"host":"r2.example","port":3478}]})");
}

TEST(MessagesTest, RelayAlternatesAreOptionalAndAnEmptyListReadsAsNone) {
  const std::string base = R"({"type":"relay","call_id":"wMHCw8TFxsfIycrLzM3Ozw","host":"h","port":1,"ticket":"AA",)"
                           R"("p2p":false,"hop_key":)" + kKey32Text() + R"(,"bind_key":)" + kKey32Text();
  auto without = ParseMessage(base + "}");
  ASSERT_TRUE(without.ok()) << without.error().message;
  EXPECT_TRUE(std::get<Relay>(*without).alternates.empty());
  auto empty = ParseMessage(base + R"(,"alternates":[]})");
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(*empty, *without);
  auto two = ParseMessage(base + R"(,"alternates":[{"host":"b","port":2},{"port":3,"host":"c"}]})");
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(std::get<Relay>(*two).alternates, (std::vector<RelayAddress>{{"b", 2}, {"c", 3}}));
}

TEST(MessagesTest, OptionalFieldsMayBeAbsentAndWhitespaceIsFine) {
  auto history = ParseMessage(R"( { "limit" : 5 , "type" : "history" } )");
  ASSERT_TRUE(history.ok()) << history.error().message;
  EXPECT_EQ(std::get<History>(*history).limit, 5);
  EXPECT_FALSE(std::get<History>(*history).id.has_value());
  auto default_limit = ParseMessage(R"({"type":"history"})");
  ASSERT_TRUE(default_limit.ok());
  EXPECT_EQ(std::get<History>(*default_limit).limit, kDefaultHistoryLimit);
  auto settings = ParseMessage(R"({"type":"settings","id":0})");
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(std::get<Settings>(*settings), (Settings{0, std::nullopt, std::nullopt}));
}

TEST(MessagesTest, ClientAndServerMessagesAreTold) {
  EXPECT_TRUE(IsClientMessage(Invite{}));
  EXPECT_TRUE(IsClientMessage(Register{}));
  EXPECT_TRUE(IsClientMessage(History{}));
  EXPECT_TRUE(IsClientMessage(Candidates{}));
  EXPECT_FALSE(IsClientMessage(PeerCandidates{}));
  EXPECT_FALSE(IsClientMessage(Incoming{}));
  EXPECT_FALSE(IsClientMessage(Accepted{}));
  EXPECT_FALSE(IsClientMessage(CallHistory{}));
}

struct BadCase {
  const char* name;
  std::string json;
  std::string error_contains;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class MessagesBadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(MessagesBadInputTest, RefusedWithClearError) {
  const BadCase& c = GetParam();
  auto parsed = ParseMessage(c.json);
  ASSERT_FALSE(parsed.ok()) << c.json;
  EXPECT_NE(parsed.error().message.find(c.error_contains), std::string::npos)
      << "error was: " << parsed.error().message;
  EXPECT_LE(parsed.error().message.size(), kMaxTextBytes);
  EXPECT_EQ(parsed.error().message.back(), '.') << parsed.error().message;
}

const std::string kCall = R"("call_id":"wMHCw8TFxsfIycrLzM3Ozw")";
const std::string kSig = "\"" + crypto::ToBase64(std::vector<uint8_t>(64, 1)) + "\"";
const std::string kKey32 = "\"" + crypto::ToBase64(std::vector<uint8_t>(32, 2)) + "\"";

INSTANTIATE_TEST_SUITE_P(
    Table, MessagesBadInputTest,
    ::testing::Values(
        BadCase{"empty", "", "not valid JSON"},
        BadCase{"not_json", "hello", "not valid JSON (error at byte 1)"},
        BadCase{"truncated", R"({"type":"ok")", "not valid JSON"},
        BadCase{"trailing_garbage", R"({"type":"ok"} x)", "not valid JSON"},
        BadCase{"comment", R"({"type":"ok"/*c*/})", "not valid JSON"},
        BadCase{"invalid_utf8", "{\"type\":\"ok\",\"x\":\"\xff\"}", "not valid JSON"},
        BadCase{"array", R"([{"type":"ok"}])", "must be a JSON object"},
        BadCase{"string", R"("ok")", "must be a JSON object"},
        BadCase{"no_type", R"({"id":1})", "no field 'type'"},
        BadCase{"type_number", R"({"type":7})", "'type' of the message must be a string"},
        BadCase{"unknown_type", R"({"type":"sdp_update","call_id":"x"})", "Unknown message type 'sdp_update'"},
        BadCase{"unknown_type_case", R"({"type":"Invite"})", "Unknown message type 'Invite'"},
        BadCase{"long_unknown_type", R"({"type":")" + std::string(500, 'a') + R"("})", "...'"},
        BadCase{"missing_field", R"({"type":"invite",)" + kCall + "}", "'invite' message is missing the field 'to'"},
        BadCase{"missing_call_id", R"({"type":"decline"})", "missing the field 'call_id'"},
        BadCase{"extra_field", R"({"type":"invite",)" + kCall + R"(,"to":"bob","ip":"10.0.0.1"})",
                "'invite' message has a field 'ip' that it does not define"},
        BadCase{"extra_field_on_empty", R"({"type":"ok","x":1})", "has a field 'x'"},
        BadCase{"to_number", R"({"type":"invite",)" + kCall + R"(,"to":5})", "Field 'to' of the 'invite' message must be a string"},
        BadCase{"to_empty", R"({"type":"invite",)" + kCall + R"(,"to":""})", "must be a string of 1 to 64 bytes, not 0"},
        BadCase{"to_long", R"({"type":"invite",)" + kCall + R"(,"to":")" + std::string(65, 'b') + R"("})", "not 65"},
        BadCase{"call_id_bad_base64", R"({"type":"cancel","call_id":"wMHCw8TFxsfIycrLzM3Oz+"})", "'call_id' of the 'cancel' message is not valid base64url"},
        BadCase{"call_id_padded", R"({"type":"cancel","call_id":"wMHCw8TFxsfIycrLzM3Ozw=="})", "'call_id'"},
        BadCase{"call_id_short", R"({"type":"cancel","call_id":"wMHCw8TFxsfIycrLzM3O"})", "must be 16 bytes, not 15"},
        BadCase{"call_id_long", R"({"type":"cancel","call_id":")" + std::string(400, 'A') + R"("})", "must be 16 bytes of base64url, not longer"},
        BadCase{"call_id_number", R"({"type":"cancel","call_id":12})", "must be a string of base64url (16 bytes)"},
        BadCase{"commit_wrong_length", R"({"type":"offer",)" + kCall + R"(,"commit":)" + kKey32 + "}", "'commit' of the 'offer' message must be 146 bytes, not 32"},
        BadCase{"accept_key_is_a_reveal", R"({"type":"accept",)" + kCall + R"(,"key":")" + crypto::ToBase64(std::vector<uint8_t>(114, 3)) + R"("})", "must be 146 bytes, not 114"},
        BadCase{"signature_short", R"({"type":"login","user":"alice","device":"laptop","signature":)" + kKey32 + "}", "'signature' of the 'login' message must be 64 bytes, not 32"},
        BadCase{"identity_key_long", R"({"type":"register","user":"alice","device":"laptop","identity_key":)" + kSig + R"(,"signature":)" + kSig + "}", "'identity_key' of the 'register' message must be 32 bytes"},
        BadCase{"id_negative", R"({"type":"contacts_list","id":-1})", "'id' of the 'contacts_list' message must be a whole number from 0 to 9007199254740991"},
        BadCase{"id_float", R"({"type":"contacts_list","id":1.5})", "'id'"},
        BadCase{"id_too_big", R"({"type":"contacts_list","id":9007199254740992})", "'id'"},
        BadCase{"id_string", R"({"type":"contacts_list","id":"1"})", "'id'"},
        BadCase{"limit_zero", R"({"type":"history","limit":0})", "'limit' of the 'history' message must be a whole number from 1 to 100"},
        BadCase{"limit_big", R"({"type":"history","limit":101})", "'limit'"},
        BadCase{"port_zero", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":0,"ticket":"AA","p2p":false})", "'port' of the 'relay' message must be a whole number from 1 to 65535"},
        BadCase{"port_big", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":65536,"ticket":"AA","p2p":false})", "'port'"},
        BadCase{"ticket_empty", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"","p2p":false})", "'ticket' of the 'relay' message must be 1 to 512 bytes, not 0"},
        BadCase{"relay_without_p2p", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA"})", "'relay' message is missing the field 'p2p'"},
        BadCase{"relay_p2p_string", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA","p2p":"yes"})", "'p2p' of the 'relay' message must be true or false"},
        BadCase{"relay_hop_key_short", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":"AA","bind_key":)" + kKey32 + "}", "'hop_key' of the 'relay' message must be 32 bytes, not 1"},
        BadCase{"relay_without_bind_key", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":)" + kKey32 + "}", "'relay' message is missing the field 'bind_key'"},
        BadCase{"relay_alternates_not_list", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":)" + kKey32 + R"(,"bind_key":)" + kKey32 + R"(,"alternates":"b:2"})", "'alternates' of the 'relay' message must be a list of at most 3 relays"},
        BadCase{"relay_alternates_too_many", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":)" + kKey32 + R"(,"bind_key":)" + kKey32 + R"(,"alternates":[{"host":"b","port":2},{"host":"b","port":2},{"host":"b","port":2},{"host":"b","port":2}]})", "at most 3 relays"},
        BadCase{"relay_alternate_string", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":)" + kKey32 + R"(,"bind_key":)" + kKey32 + R"(,"alternates":["b:2"]})", "'alternates[0]' of the 'relay' message must be an object with 'host' and 'port'"},
        BadCase{"relay_alternate_port_zero", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":)" + kKey32 + R"(,"bind_key":)" + kKey32 + R"(,"alternates":[{"host":"b","port":2},{"host":"c","port":0}]})", "'alternates[1].port' of the 'relay' message must be a whole number from 1 to 65535"},
        BadCase{"relay_alternate_no_host", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":)" + kKey32 + R"(,"bind_key":)" + kKey32 + R"(,"alternates":[{"port":2}]})", "missing the field 'alternates[0].host'"},
        BadCase{"relay_alternate_extra", R"({"type":"relay",)" + kCall + R"(,"host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":)" + kKey32 + R"(,"bind_key":)" + kKey32 + R"(,"alternates":[{"host":"b","port":2,"ticket":"AA"}]})", "has a field 'alternates[0].ticket'"},
        BadCase{"candidates_missing", R"({"type":"candidates",)" + kCall + "}", "'candidates' message is missing the field 'candidates'"},
        BadCase{"candidates_empty", R"({"type":"candidates",)" + kCall + R"(,"candidates":[]})", "'candidates' of the 'candidates' message must be a list of 1 to 8 addresses"},
        BadCase{"candidates_not_list", R"({"type":"candidates",)" + kCall + R"(,"candidates":"1.2.3.4:5"})", "must be a list of 1 to 8 addresses"},
        BadCase{"candidates_too_many", R"({"type":"candidates",)" + kCall + R"(,"candidates":["1.2.3.4:5","1.2.3.4:5","1.2.3.4:5","1.2.3.4:5","1.2.3.4:5","1.2.3.4:5","1.2.3.4:5","1.2.3.4:5","1.2.3.4:5"]})", "1 to 8 addresses"},
        BadCase{"candidate_number", R"({"type":"candidates",)" + kCall + R"(,"candidates":[3]})", "'candidates[0]' of the 'candidates' message must be a string such as"},
        BadCase{"candidate_name", R"({"type":"candidates",)" + kCall + R"(,"candidates":["1.2.3.4:5","localhost:5"]})", "'candidates[1]' of the 'candidates' message is not a numeric address and port"},
        BadCase{"candidate_no_port", R"({"type":"peer_candidates",)" + kCall + R"(,"candidates":["1.2.3.4"]})", "'candidates[0]' of the 'peer_candidates' message is not a numeric address"},
        BadCase{"candidate_unbracketed_v6", R"({"type":"candidates",)" + kCall + R"(,"candidates":["2001:db8::1:5"]})", "is not a numeric address"},
        BadCase{"candidate_port_zero", R"({"type":"candidates",)" + kCall + R"(,"candidates":["1.2.3.4:0"]})", "'candidates[0]' of the 'candidates' message has port 0"},
        BadCase{"candidate_unspecified", R"({"type":"candidates",)" + kCall + R"(,"candidates":["0.0.0.0:5"]})", "is the unspecified address"},
        BadCase{"candidate_unspecified_v6", R"({"type":"candidates",)" + kCall + R"(,"candidates":["[::]:5"]})", "is the unspecified address"},
        BadCase{"candidate_multicast", R"({"type":"candidates",)" + kCall + R"(,"candidates":["239.1.2.3:5"]})", "is a multicast address"},
        BadCase{"candidate_multicast_v6", R"({"type":"peer_candidates",)" + kCall + R"(,"candidates":["[ff02::1]:5"]})", "is a multicast address"},
        BadCase{"candidate_broadcast", R"({"type":"candidates",)" + kCall + R"(,"candidates":["255.255.255.255:5"]})", "is the broadcast address"},
        BadCase{"candidate_mapped", R"({"type":"candidates",)" + kCall + R"(,"candidates":["[::ffff:1.2.3.4]:5"]})", "IPv4-mapped"},
        BadCase{"candidate_long", R"({"type":"candidates",)" + kCall + R"(,"candidates":[")" + std::string(300, '1') + R"("]})", "must be a string such as"},
        BadCase{"candidates_extra_field", R"({"type":"candidates",)" + kCall + R"(,"candidates":["1.2.3.4:5"],"relay":"x"})", "has a field 'relay'"},
        BadCase{"online_string", R"({"type":"presence","user":"bob","online":"yes"})", "'online' of the 'presence' message must be true or false"},
        BadCase{"audience_unknown", R"({"type":"settings","who_may_call":"friends"})", "must be one of 'everyone', 'contacts', 'nobody'"},
        BadCase{"audience_null", R"({"type":"settings","p2p":null})", "'p2p'"},
        BadCase{"reason_unknown", R"({"type":"ended",)" + kCall + R"(,"reason":"bored"})", "'reason' of the 'ended' message must be one of 'not_found'"},
        BadCase{"error_code_unknown", R"({"type":"error","code":"oops","message":"m"})", "'code'"},
        BadCase{"users_not_list", R"({"type":"contact_list","users":"bob"})", "'users' of the 'contact_list' message must be a list"},
        BadCase{"users_entry_number", R"({"type":"contact_list","users":["bob",3]})", "'users[1]'"},
        BadCase{"record_not_object", R"({"type":"call_history","calls":[1]})", "'calls[0]' of the 'call_history' message must be an object"},
        BadCase{"record_missing_field", R"({"type":"welcome","user":"a","device":"d","missed_calls":[{"call_id":"wMHCw8TFxsfIycrLzM3Ozw"}]})", "missing the field 'missed_calls[0].caller'"},
        BadCase{"record_extra_field", R"({"type":"call_history","calls":[{"call_id":"wMHCw8TFxsfIycrLzM3Ozw","caller":"a","callee":"b","started_unix_ms":1,"answered_unix_ms":0,"ended_unix_ms":2,"outcome":"missed","x":1}]})", "field 'calls[0].x'"},
        BadCase{"record_negative_time", R"({"type":"call_history","calls":[{"call_id":"wMHCw8TFxsfIycrLzM3Ozw","caller":"a","callee":"b","started_unix_ms":-1,"answered_unix_ms":0,"ended_unix_ms":2,"outcome":"missed"}]})", "'calls[0].started_unix_ms'"},
        BadCase{"duplicate_key", R"({"type":"invite",)" + kCall + R"(,"to":"bob","to":"carol"})", "has the field 'to' twice"},
        BadCase{"duplicate_type", R"({"type":"ok","type":"invite"})", "has the field 'type' twice"},
        BadCase{"deep_nesting", R"({"type":"ok","x":[[[[[[[[1]]]]]]]]})", "deeper than 8 levels"},
        BadCase{"deep_objects", R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{}}}}}}}}})", "deeper than 8 levels"},
        BadCase{"very_deep", std::string(60000, '['), "deeper than 8 levels"},
        BadCase{"oversized", R"({"type":"ok","pad":")" + std::string(kMaxMessageBytes, 'x') + R"("})", "bytes; the limit is 65536"}));

TEST(MessagesTest, NestingAtTheLimitIsNotADepthError) {
  // Depth 8 exactly: refused only for its unknown field, not for depth.
  auto parsed = ParseMessage(R"({"type":"ok","x":[[[[[[[1]]]]]]]})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("field 'x'"), std::string::npos) << parsed.error().message;
}

TEST(MessagesTest, SizeLimitIsInclusive) {
  std::string json = R"({"type":"ok"})";
  json.resize(kMaxMessageBytes, ' ');
  EXPECT_TRUE(ParseMessage(json).ok());
  json.push_back(' ');
  EXPECT_FALSE(ParseMessage(json).ok());
}

TEST(MessagesTest, PeekRequestReadsWhatItCanOfRefusedRequests) {
  EXPECT_EQ(PeekRequest(R"({"type":"invite","id":42})").id, RequestId{42});
  auto unknown = PeekRequest(R"({"type":"nonsense","id":7,"x":[]})");
  EXPECT_EQ(unknown.id, RequestId{7});
  EXPECT_EQ(unknown.type, std::optional<std::string>("nonsense"));
  EXPECT_EQ(PeekRequest(R"({"type":"invite"})").id, std::nullopt);
  EXPECT_EQ(PeekRequest(R"({"type":"invite","id":-3})").id, std::nullopt);
  EXPECT_EQ(PeekRequest(R"({"type":"invite","id":"3"})").id, std::nullopt);
  EXPECT_EQ(PeekRequest(R"({"type":5,"id":3})").type, std::nullopt);
  EXPECT_EQ(PeekRequest("not json").id, std::nullopt);
  EXPECT_EQ(PeekRequest(R"({"id":1,"x":[[[[[[[[[1]]]]]]]]]})").id, std::nullopt);
}

TEST(MessagesTest, KnownTypes) {
  for (const Message& message : Samples()) EXPECT_TRUE(IsKnownType(MessageType(message)));
  EXPECT_FALSE(IsKnownType("sdp_update"));
  EXPECT_FALSE(IsKnownType(""));
  EXPECT_FALSE(IsKnownType("Invite"));
}

TEST(MessagesTest, AuthSignedBytesLayout) {
  Challenge challenge{};
  challenge.fill(0xaa);
  auto bytes = AuthSignedBytes(AuthPurpose::kLogin, challenge, "alice", "laptop", "example.org");
  std::vector<uint8_t> expected;
  for (char c : std::string_view("parley-v1 login")) expected.push_back(static_cast<uint8_t>(c));
  expected.push_back(0);
  expected.insert(expected.end(), challenge.begin(), challenge.end());
  for (std::string_view s : {"alice", "laptop", "example.org"}) {
    expected.push_back(static_cast<uint8_t>(s.size()));
    expected.insert(expected.end(), s.begin(), s.end());
  }
  EXPECT_EQ(bytes, expected);
  // Purposes are domain-separated: a login signature is no registration or deletion.
  EXPECT_NE(AuthSignedBytes(AuthPurpose::kRegister, challenge, "alice", "laptop", "example.org"), bytes);
  EXPECT_NE(AuthSignedBytes(AuthPurpose::kDeleteAccount, challenge, "alice", "laptop", "example.org"), bytes);
  // Length prefixes keep ("ab","c") and ("a","bc") apart.
  EXPECT_NE(AuthSignedBytes(AuthPurpose::kLogin, challenge, "ab", "c", "s"),
            AuthSignedBytes(AuthPurpose::kLogin, challenge, "a", "bc", "s"));
}

TEST(MessagesTest, EveryEndReasonHasASentence) {
  for (EndReason reason : {EndReason::kNotFound, EndReason::kBusy, EndReason::kUnavailable,
                           EndReason::kDeclined, EndReason::kCancelled, EndReason::kHangup,
                           EndReason::kTimeout, EndReason::kRateLimited, EndReason::kFailed}) {
    const std::string sentence = DescribeEnd(reason, "bob");
    EXPECT_FALSE(sentence.empty());
    EXPECT_EQ(sentence.back(), '.') << sentence;
    EXPECT_FALSE(ToString(reason).empty());
  }
  EXPECT_EQ(DescribeEnd(EndReason::kDeclined, "bob"), "bob declined the call.");
}

TEST(MessagesTest, DeviceNames) {
  EXPECT_TRUE(ValidateDeviceName("laptop").ok());
  EXPECT_TRUE(ValidateDeviceName("Pixel-7_a.1").ok());
  EXPECT_FALSE(ValidateDeviceName("").ok());
  EXPECT_FALSE(ValidateDeviceName("my phone").ok());
  EXPECT_FALSE(ValidateDeviceName(std::string(33, 'a')).ok());
  EXPECT_NE(ValidateDeviceName("a/b").error().message.find("'a/b'"), std::string::npos);
}

}  // namespace
}  // namespace parley::signal
