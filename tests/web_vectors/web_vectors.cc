// Writes the native client's outputs for fixed inputs as JSON (web/test/vectors/
// native.json), which the web client's unit tests reproduce byte for byte: seeded key
// source, identity keys and signatures, the register/login bytes, a whole key
// agreement with its keys, sealed packets across counters, epochs and padding
// policies, fingerprints, safety numbers, media payloads, receiver reports and
// canonical signaling JSON (plus inputs each parser refuses, with its error), and the
// relay framing: binds, acks and one relay client session's datagrams over time.
//
//   web_vectors OUT.json        write the vectors
//   web_vectors --check FILE    exit 1 if FILE differs from what this build writes
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "parley/call/control_message.h"
#include "parley/crypto/encoding.h"
#include "parley/crypto/fingerprint.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/key_agreement.h"
#include "parley/crypto/key_source.h"
#include "parley/crypto/packet_opener.h"
#include "parley/crypto/packet_sealer.h"
#include "parley/crypto/safety_number.h"
#include "parley/media/media_packet.h"
#include "parley/net/relay_client_session.h"
#include "parley/net/relay_framing.h"
#include "parley/signal/messages.h"

namespace parley {
namespace {

using Json = nlohmann::ordered_json;
using crypto::ToHex;

std::vector<uint8_t> Sequence(uint8_t first, std::size_t n) {
  std::vector<uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(first + i);
  return out;
}

// A vector input that does not behave as intended is a bug in this program: say which.
void Require(bool ok, const std::string& what) {
  if (ok) return;
  std::cerr << "web_vectors: " << what << "\n";
  std::exit(3);
}

std::span<const uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::array<uint8_t, 32> Seed32(uint8_t first) {
  std::array<uint8_t, 32> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(first + 3 * i);
  return out;
}

Json KeySourceVectors() {
  const auto seed = Seed32(0x11);
  crypto::SeededKeySource source(seed);
  Json fills = Json::array();
  for (std::size_t length : {32, 16, 7, 64}) {
    std::vector<uint8_t> out(length);
    source.Fill(out);
    fills.push_back({{"length", length}, {"bytes", ToHex(out)}});
  }
  crypto::SeededKeySource by_number(uint64_t{0x0123456789abcdef});
  std::vector<uint8_t> first(32);
  by_number.Fill(first);
  return {{"seed", ToHex(seed)}, {"fills", fills}, {"u64_seed", "0123456789abcdef"}, {"u64_first_fill_32", ToHex(first)}};
}

Json IdentityVectors() {
  Json out = Json::array();
  for (uint8_t first : {0x00, 0x20, 0x9a}) {
    const auto seed = Seed32(first);
    auto key = crypto::IdentityKey::FromSeed(seed);
    const std::string message = "parley web vector " + std::to_string(first);
    out.push_back({{"seed", ToHex(seed)},
                   {"public", ToHex(key.public_key())},
                   {"message", ToHex(Span(message))},
                   {"signature", ToHex(key.Sign(Span(message)))}});
  }
  return out;
}

Json AuthVectors() {
  auto key = crypto::IdentityKey::FromSeed(Seed32(0x00));
  signal::Challenge challenge{};
  for (std::size_t i = 0; i < challenge.size(); ++i) challenge[i] = static_cast<uint8_t>(0xa0 + i);
  Json out = Json::array();
  const struct {
    signal::AuthPurpose purpose;
    const char* name;
  } purposes[] = {{signal::AuthPurpose::kRegister, "register"},
                  {signal::AuthPurpose::kLogin, "login"},
                  {signal::AuthPurpose::kDeleteAccount, "delete_account"}};
  for (const auto& p : purposes) {
    const auto bytes = signal::AuthSignedBytes(p.purpose, challenge, "alice", "laptop-1", "parley.example.org");
    out.push_back({{"purpose", p.name},
                   {"identity_seed", ToHex(Seed32(0x00))},
                   {"challenge", ToHex(challenge)},
                   {"user", "alice"},
                   {"device", "laptop-1"},
                   {"server", "parley.example.org"},
                   {"signed_bytes", ToHex(bytes)},
                   {"signature", ToHex(key.Sign(bytes))}});
  }
  return out;
}

Json DirectionJson(const crypto::DirectionKeys& keys) {
  return {{"chain_key", ToHex(keys.chain_key.span())}, {"header_key", ToHex(keys.header_key.span())}};
}

// Seals `contents` in order at the given times (ms from the sealer's start) and checks
// that the peer's opener opens each one.
Json SealSeries(const crypto::DirectionKeys& send, const crypto::DirectionKeys& receive,
                crypto::PaddingPolicy padding, crypto::RatchetSchedule schedule, const char* padding_name,
                const std::vector<std::pair<std::string, int64_t>>& contents) {
  const TimePoint start{};
  crypto::PacketSealer sealer(send, start, padding, schedule);
  crypto::PacketOpener opener(receive, schedule);
  Json packets = Json::array();
  for (const auto& [content, at_ms] : contents) {
    auto sealed = sealer.Seal(Span(content), start + milliseconds(at_ms)).value();
    auto opened = opener.Open(sealed);
    Require(opened.ok() && std::string(opened->begin(), opened->end()) == content, "a sealed vector does not open");
    packets.push_back({{"content", ToHex(Span(content))},
                       {"now_ms", at_ms},
                       {"counter", sealer.next_counter() - 1},
                       {"epoch", sealer.epoch()},
                       {"sealed", ToHex(sealed)}});
  }
  return {{"padding", padding_name},
          {"counter_bits", schedule.counter_bits},
          {"max_epoch_age_ms", std::chrono::duration_cast<milliseconds>(schedule.max_epoch_age).count()},
          {"packets", packets}};
}

Json KeyAgreementVectors() {
  crypto::SeededKeySource identities(uint64_t{0x5eed});
  auto caller_id = crypto::IdentityKey::Generate(identities);
  auto callee_id = crypto::IdentityKey::Generate(identities);
  crypto::CallContext context;
  for (std::size_t i = 0; i < context.call_id.size(); ++i) context.call_id[i] = static_cast<uint8_t>(0x31 * i + 7);
  context.caller = {"carol", "web-Firefox"};
  context.callee = {"dave", "z\xc3\xab\xe2\x82\xac"};  // multi-byte UTF-8: lp() counts bytes
  crypto::SeededKeySource caller_keys(uint64_t{1}), callee_keys(uint64_t{2});
  auto caller = crypto::KeyAgreement::Create(crypto::Role::kCaller, context, caller_id, caller_keys).value();
  auto callee = crypto::KeyAgreement::Create(crypto::Role::kCallee, context, callee_id, callee_keys).value();
  auto commit = caller.MakeCommit().value();
  Require(callee.Receive(commit).ok(), "commit refused");
  auto accept = callee.MakeAccept().value();
  Require(caller.Receive(accept).ok(), "accept refused");
  auto reveal = caller.MakeReveal().value();
  Require(callee.Receive(reveal).ok(), "reveal refused");
  crypto::CallKeys a = caller.TakeKeys();
  crypto::CallKeys b = callee.TakeKeys();
  Require(a.fingerprint == b.fingerprint, "fingerprints differ");

  const crypto::RatchetSchedule standard{};
  const crypto::RatchetSchedule small{.counter_bits = 3, .max_epoch_age = std::chrono::seconds(5)};
  std::vector<std::pair<std::string, int64_t>> media;
  for (int i = 0; i < 4; ++i) media.push_back({std::string(static_cast<std::size_t>(10 + 40 * i), static_cast<char>('a' + i)), 20 * i});
  media.push_back({"", 100});
  media.push_back({std::string(1175, 'z'), 120});
  media.push_back({"after ten minutes", 10 * 60 * 1000 + 5});  // jumps to epoch 1
  media.push_back({"next", 10 * 60 * 1000 + 25});
  std::vector<std::pair<std::string, int64_t>> ratcheting;
  for (int i = 0; i < 12; ++i) ratcheting.push_back({"packet " + std::to_string(i), 1000 * i});
  std::vector<std::pair<std::string, int64_t>> short_content = {{"x", 0}, {std::string(200, 'y'), 20}, {"", 40}};

  Json series = Json::array();
  series.push_back(SealSeries(a.media.send, b.media.receive, crypto::PaddingPolicy::Buckets(), standard, "buckets", media));
  series.push_back(SealSeries(b.media.send, a.media.receive, crypto::PaddingPolicy::Off(), standard, "off", short_content));
  series.push_back(SealSeries(a.control.send, b.control.receive, crypto::PaddingPolicy::Constant(256).value(), standard,
                              "constant:256", short_content));
  series.push_back(SealSeries(b.control.send, a.control.receive, crypto::PaddingPolicy::Buckets(), small, "buckets", ratcheting));
  series[0]["stream"] = "media caller_to_callee";
  series[1]["stream"] = "media callee_to_caller";
  series[2]["stream"] = "control caller_to_callee";
  series[3]["stream"] = "control callee_to_caller";

  return {
      {"caller_identity_seed_source", "SeededKeySource(u64 0x5eed): first fill caller, second callee"},
      {"caller_identity_public", ToHex(caller_id.public_key())},
      {"callee_identity_public", ToHex(callee_id.public_key())},
      {"call_id", ToHex(context.call_id)},
      {"caller", {{"user", context.caller.user}, {"device", context.caller.device}}},
      {"callee", {{"user", context.callee.user}, {"device", context.callee.device}}},
      {"caller_ephemeral_source", "SeededKeySource(u64 1)"},
      {"callee_ephemeral_source", "SeededKeySource(u64 2)"},
      {"context_hash", ToHex(crypto::ContextHash(context))},
      {"commit", ToHex(commit)},
      {"accept", ToHex(accept)},
      {"reveal", ToHex(reveal)},
      {"caller_keys",
       {{"media_send", DirectionJson(a.media.send)},
        {"media_receive", DirectionJson(a.media.receive)},
        {"control_send", DirectionJson(a.control.send)},
        {"control_receive", DirectionJson(a.control.receive)}}},
      {"fingerprint_indices", ToHex(a.fingerprint.indices())},
      {"fingerprint_emoji", a.fingerprint.Emoji()},
      {"fingerprint_words", a.fingerprint.Words()},
      {"safety_number", crypto::SafetyNumber::Compute(caller_id.public_key(), callee_id.public_key()).ToString()},
      {"sealed_series", series},
  };
}

Json FingerprintVectors() {
  Json out = Json::array();
  crypto::SeededKeySource source(uint64_t{0xf1});
  for (int i = 0; i < 4; ++i) {
    std::array<uint8_t, 32> secret{};
    source.Fill(secret);
    const auto f = crypto::Fingerprint::FromSecret(secret);
    out.push_back({{"secret", ToHex(secret)}, {"emoji", f.Emoji()}, {"words", f.Words()}});
  }
  return out;
}

Json SafetyNumberVectors() {
  Json out = Json::array();
  for (uint8_t first : {0x01, 0x77, 0xfe}) {
    auto a = crypto::IdentityKey::FromSeed(Seed32(first));
    auto b = crypto::IdentityKey::FromSeed(Seed32(static_cast<uint8_t>(first + 0x40)));
    out.push_back({{"a", ToHex(a.public_key())},
                   {"b", ToHex(b.public_key())},
                   {"safety_number", crypto::SafetyNumber::Compute(a.public_key(), b.public_key()).ToString()}});
  }
  return out;
}

Json MediaPacketVectors() {
  auto frame = [](uint32_t ts, std::size_t n, uint8_t fill) {
    return media::EncodedFrame{ts, std::vector<uint8_t>(n, fill)};
  };
  std::vector<media::MediaPacket> packets = {
      {7, frame(960, 60, 0xaa), {}},
      {0xffff, frame(0xffffffffu, 1, 0x01), {frame(0xffffffffu - 960, 3, 0x02)}},
      {1234, frame(100, 130, 0x33), {frame(100u - 1920u, 129, 0x31), frame(100u - 960u, 200, 0x32)}},
      {1, frame(48000, 5, 0x44), {frame(0, 1, 0x45)}},
  };
  Json valid = Json::array();
  for (const auto& p : packets) {
    Json redundant = Json::array();
    for (const auto& r : p.redundant) redundant.push_back({{"timestamp", r.timestamp}, {"payload", ToHex(r.payload)}});
    valid.push_back({{"sequence", p.sequence},
                     {"timestamp", p.primary.timestamp},
                     {"primary", ToHex(p.primary.payload)},
                     {"redundant", redundant},
                     {"bytes", ToHex(media::SerializeMediaPacket(p))}});
  }
  const char* invalid_hex[] = {
      "",                                  // shorter than the header
      "000100000000",                      // 6 bytes
      "00010000000003aa",                  // count 3
      "0001000003c00100aa",                // offset 0 (varint 00)
      "0001000003c001c18203aaaabb",        // offset 48001 (c1 f7 02): see below
      "0001000003c00180",                  // varint runs past the end
      "0001000003c0018080808080",          // varint longer than 5 bytes
      "0001000003c001c007010a",            // length... no primary left
      "0001000003c001c00700aa",            // length 0
      "0001000003c001c00709aabb",          // length past the end
      "0001000003c002c007010ac007010bcc",  // second offset not smaller
      "0001000003c00180800000",            // non-minimal varint (80 80 00)
      "0001000003c000",                    // no primary frame
  };
  Json invalid = Json::array();
  for (const char* hex : invalid_hex) {
    auto bytes = crypto::FromHex(hex).value();
    auto parsed = media::ParseMediaPacket(bytes);
    Require(!parsed.ok(), std::string("media payload accepted: ") + hex);
    invalid.push_back({{"bytes", hex}, {"error", parsed.error().message}});
  }
  return {{"valid", valid}, {"invalid", invalid}};
}

Json ReceiverReportVectors() {
  const call::ReceiverReport report{50, 48, 123456, 0xfffffff0u, 17};
  Json invalid = Json::array();
  for (const char* hex : {"", "01", "0100000032000000300001e240fffffff000000011ff", "ff00"}) {
    auto bytes = crypto::FromHex(hex).value();
    auto parsed = call::ParseReceiverReport(bytes);
    Require(!parsed.ok(), std::string("receiver report accepted: ") + hex);
    invalid.push_back({{"bytes", hex}, {"error", parsed.error().message}});
  }
  return {{"report",
           {{"expected", report.expected},
            {"received", report.received},
            {"sent_ms", report.sent_ms},
            {"echo_ms", report.echo_ms},
            {"echo_delay_ms", report.echo_delay_ms}}},
          {"bytes", ToHex(call::SerializeReceiverReport(report))},
          {"invalid", invalid}};
}

std::string B64(std::span<const uint8_t> bytes) { return crypto::ToBase64(bytes); }

Json SignalingVectors() {
  const std::string call_id = B64(Sequence(0xc0, 16));
  const std::string commit = B64(Sequence(0x01, 146));
  const std::string reveal = B64(Sequence(0x02, 114));
  const std::string key32 = B64(Sequence(0x03, 32));
  const std::string sig = B64(Sequence(0x04, 64));
  const std::string record = R"({"call_id":")" + call_id +
                             R"(","caller":"alice","callee":"bob","started_unix_ms":1767225600000,"answered_unix_ms":0,"ended_unix_ms":1767225645000,"outcome":"missed"})";
  // Inputs as a peer may send them (some not canonical: spaces, field order, escapes).
  const std::vector<std::string> inputs = {
      R"({"type":"hello","challenge":")" + key32 + R"(","server":"parley.example.org"})",
      R"({ "server" : "h\u00e9llo \"quoted\" \\ \/ \n\t\u0001\u007f €", "challenge":")" + key32 + R"(", "type":"hello" })",
      R"({"type":"welcome","id":1,"user":"bob","device":"phone","missed_calls":[)" + record + "," + record + "]}",
      R"({"type":"welcome","id":9007199254740991,"user":"bob","device":"phone","missed_calls":[]})",
      R"({"type":"error","id":1,"code":"bad_signature","message":"The login signature does not verify."})",
      R"({"type":"ok","id":0})",
      R"({"type":"route","id":2,"call_id":")" + call_id + R"(","to_device":"phone"})",
      R"({"type":"incoming","call_id":")" + call_id + R"(","from":"alice","from_device":"laptop","commit":")" + commit + R"("})",
      R"({"type":"ringing","id":3,"call_id":")" + call_id + R"("})",
      R"({"type":"accepted","call_id":")" + call_id + R"(","key":")" + commit + R"("})",
      R"({"type":"revealed","call_id":")" + call_id + R"(","key":")" + reveal + R"("})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"relay.example.org","port":443,"ticket":")" + B64(Sequence(0x05, 65)) + R"(","p2p":true,"hop_key":")" + key32 + R"(","bind_key":")" + key32 + R"("})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"127.0.0.1","port":8443,"ticket":"AQ","p2p":false,"hop_key":")" + key32 + R"(","bind_key":")" + key32 + R"("})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"relay1.example.org","port":3478,"ticket":"AQ","p2p":false,"hop_key":")" + key32 + R"(","bind_key":")" + key32 + R"(","alternates":[{"host":"relay2.example.org","port":3479},{"host":"192.0.2.7","port":1}]})",
      R"({"type":"peer_candidates","call_id":")" + call_id + R"(","candidates":["198.51.100.21:40001"]})",
      R"({"type":"candidates","id":20,"call_id":")" + call_id + R"(","candidates":["192.168.1.20:51000","[2001:DB8:0:0:0:0:0:7]:51000","203.0.113.7:04000","[fe80::1:0:0:0]:1","[::1.2.3.4]:9","[1:0:0:2:0:0:0:3]:9"]})",
      R"({"type":"peer_candidates","call_id":")" + call_id + R"(","candidates":["[1:0::2:0:0:3]:9","[::7]:1","[1::]:1","[0:1:0:0:1:0:0:1]:2","[64:ff9b::192.0.2.33]:3","[::ffff:0:1.2.3.4]:4","[1:2:3:4:5:6:7:8]:5","[::0102:0304]:6"]})",
      R"({"type":"ended","call_id":")" + call_id + R"(","reason":"declined"})",
      R"({"type":"presence","user":"carol","online":true})",
      R"({"type":"contact_list","id":12,"users":["alice","carol"]})",
      R"({"type":"block_list","id":15,"users":[]})",
      R"({"type":"current_settings","id":16,"who_may_call":"contacts","p2p":"nobody"})",
      R"({"type":"call_history","id":17,"calls":[)" + record + "]}",
      R"({"type":"register","id":1,"user":"alice","device":"laptop","identity_key":")" + key32 + R"(","signature":")" + sig + R"("})",
      R"({"type":"login","id":1,"user":"bob","device":"phone","signature":")" + sig + R"("})",
      R"({"type":"delete_account","id":18,"signature":")" + sig + R"("})",
      R"({"type":"invite","id":2,"call_id":")" + call_id + R"(","to":"bob"})",
      R"({"type":"offer","id":3,"call_id":")" + call_id + R"(","commit":")" + commit + R"("})",
      R"({"type":"accept","id":7,"call_id":")" + call_id + R"(","key":")" + commit + R"("})",
      R"({"type":"reveal","id":4,"call_id":")" + call_id + R"(","key":")" + reveal + R"("})",
      R"({"type":"decline","id":8,"call_id":")" + call_id + R"("})",
      R"({"type":"cancel","id":5,"call_id":")" + call_id + R"("})",
      R"({"type":"hangup","id":6,"call_id":")" + call_id + R"("})",
      R"({"type":"contacts_add","id":10,"user":"carol"})",
      R"({"type":"contacts_remove","id":11,"user":"carol"})",
      R"({"type":"contacts_list","id":12})",
      R"({"type":"block","id":13,"user":"mallory"})",
      R"({"type":"unblock","id":14,"user":"mallory"})",
      R"({"type":"blocks","id":15})",
      R"({"type":"settings","id":16,"who_may_call":"contacts"})",
      R"({"type":"settings","p2p":"everyone","id":16})",
      R"({"type":"settings"})",
      R"({"type":"history","id":17,"limit":20})",
      R"({"type":"history"})",
      R"({"type":"path_test","id":21})",
      R"({"type":"new_app_invite","id":22})",
      R"({"type":"app_invite","id":22,"invite":"AAECAwQFBgcICQoLDA0ODw"})",
      R"({"type":"path_test_tickets","id":21,"call_id":")" + call_id + R"(","host":"127.0.0.1","port":8443,"ticket_0":")" + B64(Sequence(0x06, 73)) + R"(","hop_key_0":")" + key32 + R"(","ticket_1":")" + B64(Sequence(0x07, 73)) + R"(","hop_key_1":")" + key32 + R"(","bind_key":")" + key32 + R"("})",
  };
  Json valid = Json::array();
  for (const auto& input : inputs) {
    auto parsed = signal::ParseMessage(input);
    Require(parsed.ok(), "vector input refused: " + input + ": " + (parsed.ok() ? std::string() : parsed.error().message));
    valid.push_back({{"input", input}, {"canonical", signal::SerializeMessage(*parsed)}});
  }
  const std::vector<std::string> refused = {
      "[]",
      "\"hello\"",
      R"({"type":1})",
      R"({"id":1})",
      R"({"type":"teleport","id":1})",
      R"({"type":"ok","id":1,"id":2})",
      R"({"type":"ok","id":-1})",
      R"({"type":"ok","id":1.0})",
      R"({"type":"ok","id":9007199254740992})",
      R"({"type":"ok","extra":true})",
      R"({"type":"ringing"})",
      R"({"type":"ringing","call_id":"wMHCw8TFxsfIycrLzM3Ozw=="})",
      R"({"type":"ringing","call_id":"wMHCw8TFxsfIycrLzM3Oz"})",
      R"({"type":"ringing","call_id":"wMHCw8TFxsfIycrLzM3Oz_"})",
      R"({"type":"ringing","call_id":"wMHCw8TFxsfIycrLzM3Ozw8"})",
      R"({"type":"presence","user":"","online":true})",
      R"({"type":"presence","user":"carol","online":1})",
      R"({"type":"contact_list","users":["alice",2]})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"h","port":0,"ticket":"AA"})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"h","port":65536,"ticket":"AA"})",
      R"({"type":"ended","call_id":")" + call_id + R"(","reason":"bored"})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"h","port":1,"ticket":"AA"})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":")" + key32 + R"(","bind_key":")" + key32 + R"(","alternates":{}})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":")" + key32 + R"(","bind_key":")" + key32 + R"(","alternates":[{"host":"a","port":1},{"host":"a","port":1},{"host":"a","port":1},{"host":"a","port":1}]})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":")" + key32 + R"(","bind_key":")" + key32 + R"(","alternates":["a:1"]})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":")" + key32 + R"(","bind_key":")" + key32 + R"(","alternates":[{"host":"a","port":0}]})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":")" + key32 + R"(","bind_key":")" + key32 + R"(","alternates":[{"host":"a"}]})",
      R"({"type":"relay","call_id":")" + call_id + R"(","host":"h","port":1,"ticket":"AA","p2p":false,"hop_key":")" + key32 + R"(","bind_key":")" + key32 + R"(","alternates":[{"host":"a","port":1,"via":"x"}]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":[]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["1.1.1.1:1","1.1.1.1:2","1.1.1.1:3","1.1.1.1:4","1.1.1.1:5","1.1.1.1:6","1.1.1.1:7","1.1.1.1:8","1.1.1.1:9"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":[7]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["example.org:1"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["01.2.3.4:1"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["1.2.3.4"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["1.2.3.4:65536"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["2001:db8::1:5"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["[fe80::1%eth0]:5"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["[1::2::3]:5"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["0.0.0.0:5"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["1.2.3.4:5","239.1.2.3:5"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["255.255.255.255:5"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["1.2.3.4:0"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["[::]:5"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["[ff02::1]:5"]})",
      R"({"type":"candidates","call_id":")" + call_id + R"(","candidates":["[::ffff:1.2.3.4]:5"]})",
      R"({"type":"peer_candidates","call_id":")" + call_id + R"(","candidates":["[1:2:3:4:5:6:7:8:9]:5"]})",
      R"({"type":"history","limit":0})",
      R"({"type":"app_invite","id":22,"invite":"AAECAwQFBgcICQoLDA0O"})",
      R"({"type":"app_invite","id":22,"invite":"AAECAwQFBgcICQoLDA0ODwA"})",
      R"({"type":"new_app_invite","id":22,"invite":"AAECAwQFBgcICQoLDA0ODw"})",
      R"({"type":"history","limit":101})",
      R"({"type":"welcome","user":"bob","device":"phone","missed_calls":[{"call_id":")" + call_id + R"("}]})",
      R"({"type":"welcome","user":"bob","device":"phone","missed_calls":[7]})",
      R"({"type":"ok"} x)",
      R"({"type":"ok",})",
      R"({"type":"ok"/*c*/})",
      R"({"type":"ok","a":[[[[[[[[1]]]]]]]]})",
      R"({"type":"ok","a":[[[[[[[1]]]]]]]})",
      R"({"type":"ok","s":"\ud800"})",
      std::string(R"({"type":"ok","s":")") + "\x01" + R"("})",
      R"({"type":"error","code":"bad_message","message":""})",
      R"({"type":"presence","user":")" + std::string(65, 'u') + R"(","online":true})",
  };
  Json invalid = Json::array();
  for (const auto& input : refused) {
    auto parsed = signal::ParseMessage(input);
    Require(!parsed.ok(), "vector input accepted: " + input);
    invalid.push_back({{"input", input}, {"error", parsed.error().message}});
  }
  return {{"valid", valid}, {"invalid", invalid}};
}

Json ProbeVectors() {
  const call::ProbeMessage probe{3, 0xfffffffeu, 123456789};
  const call::ProbeReply reply{3, 0xfffffffeu, 123456789, 17};
  Json invalid = Json::array();
  for (const char* hex : {"", "02", "0203fffffffe075bcd1500", "0303fffffffe075bcd15000000", "01030303030303030303"}) {
    auto bytes = crypto::FromHex(hex).value();
    auto as_probe = call::ParseProbe(bytes);
    auto as_reply = call::ParseProbeReply(bytes);
    Require(!as_probe.ok() && !as_reply.ok(), std::string("probe accepted: ") + hex);
    invalid.push_back({{"bytes", hex}, {"probe_error", as_probe.error().message}, {"reply_error", as_reply.error().message}});
  }
  return {{"probe", {{"path", probe.path}, {"sequence", probe.sequence}, {"sent_ms", probe.sent_ms}}},
          {"probe_bytes", ToHex(call::SerializeProbe(probe))},
          {"reply",
           {{"path", reply.path}, {"sequence", reply.sequence}, {"echo_ms", reply.echo_ms},
            {"reply_delay_ms", reply.reply_delay_ms}}},
          {"reply_bytes", ToHex(call::SerializeProbeReply(reply))},
          {"invalid", invalid}};
}

// The quality report (0x04): every field distinct, the data-saving flag, and refusals.
Json QualityReportVectors() {
  call::QualityReport report;
  report.data_saving = true;
  report.loss_before_recovery = 1500;
  report.loss_after_recovery = 37;
  report.jitter_ms = 0x0102;
  report.jitter_buffer_ms = 80;
  report.queue_delay_ms = 65535;
  report.received_bps = 0x89abcdefu;
  report.interval_ms = 250;
  Json invalid = Json::array();
  for (const char* hex : {"", "04", "0401000000000000000000000000000000",
                          "04010000000000000000000000000000000000",
                          "020100000000000000000000000000000000"}) {
    auto bytes = crypto::FromHex(hex).value();
    auto parsed = call::ParseQualityReport(bytes);
    Require(!parsed.ok(), std::string("quality report accepted: ") + hex);
    invalid.push_back({{"bytes", hex}, {"error", parsed.error().message}});
  }
  return {{"report",
           {{"data_saving", report.data_saving},
            {"loss_before_recovery", report.loss_before_recovery},
            {"loss_after_recovery", report.loss_after_recovery},
            {"jitter_ms", report.jitter_ms},
            {"jitter_buffer_ms", report.jitter_buffer_ms},
            {"queue_delay_ms", report.queue_delay_ms},
            {"received_bps", report.received_bps},
            {"interval_ms", report.interval_ms}}},
          {"bytes", ToHex(call::SerializeQualityReport(report))},
          // Reserved flag bits are ignored: this reads as the report without data saving.
          {"reserved_flags_bytes", ToHex([&] {
             call::QualityReport plain = report;
             plain.data_saving = false;
             auto bytes = call::SerializeQualityReport(plain);
             bytes[1] = 0xfe;
             return bytes;
           }())},
          {"invalid", invalid}};
}

// The relay's framing and the client's session (docs/protocol.md, "Relay (obfuscated
// UDP)"): bind keys, binds and acks from fixed nonces, and one session's datagrams over
// time with a seeded nonce source, which web/src/transport reproduces byte for byte.
Json RelayVectors() {
  const auto bind_key = Seed32(0x21);
  const auto hop_bytes = Seed32(0x42);
  const crypto::Secret<32> hop_key{std::span<const uint8_t, 32>(hop_bytes)};
  const auto ticket_bytes = Sequence(0x63, net::kRelayTicketSize);
  std::array<uint8_t, net::kRelayTicketSize> ticket{};
  std::copy(ticket_bytes.begin(), ticket_bytes.end(), ticket.begin());
  const net::RelayBindKeys keys{std::span<const uint8_t, 32>(bind_key)};

  Json binds = Json::array();
  for (std::size_t sealed_size : {std::size_t{0}, std::size_t{25}, std::size_t{61}, std::size_t{300},
                                  net::kMaxSealedInBind}) {
    const auto nonce_bytes = Sequence(static_cast<uint8_t>(0x90 + sealed_size), net::kRelayNonceSize);
    std::array<uint8_t, net::kRelayNonceSize> nonce{};
    std::copy(nonce_bytes.begin(), nonce_bytes.end(), nonce.begin());
    const auto sealed = Sequence(static_cast<uint8_t>(0x41 + sealed_size), sealed_size);
    const uint64_t elapsed_ms = 1000 + sealed_size;
    std::vector<uint8_t> out(net::RelayBindSize(sealed_size));
    net::WriteRelayBind(keys, ticket, hop_key, nonce, elapsed_ms, sealed, out);
    binds.push_back({{"nonce", ToHex(nonce)}, {"elapsed_ms", elapsed_ms}, {"sealed", ToHex(sealed)},
                     {"datagram", ToHex(out)}});
  }

  Json acks = Json::array();
  const struct {
    std::size_t size;
    std::vector<uint8_t> ip;
    uint16_t port;
  } ack_cases[] = {{96, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 7}, 40000},
                   {256, Sequence(0x20, 16), 5}};
  uint8_t nonce_first = 0x10;
  for (const auto& c : ack_cases) {
    net::RelayAckContents ack;
    ack.elapsed_ms = 777;
    std::copy(c.ip.begin(), c.ip.end(), ack.ip.begin());
    ack.port = c.port;
    const auto nonce_bytes = Sequence(nonce_first++, net::kRelayNonceSize);
    std::array<uint8_t, net::kRelayNonceSize> nonce{};
    std::copy(nonce_bytes.begin(), nonce_bytes.end(), nonce.begin());
    std::vector<uint8_t> out(c.size);
    net::WriteRelayAck(hop_key, nonce, ack, out);
    acks.push_back({{"elapsed_ms", ack.elapsed_ms}, {"ip", ToHex(ack.ip)}, {"port", ack.port},
                    {"datagram", ToHex(out)}});
  }
  // Acks the client refuses, with the native error.
  Json invalid_acks = Json::array();
  {
    std::vector<uint8_t> good(96);
    net::RelayAckContents ack;
    ack.elapsed_ms = 1;
    std::array<uint8_t, net::kRelayNonceSize> nonce{};
    net::WriteRelayAck(hop_key, nonce, ack, good);  // family 6 with the all-zero address
    std::vector<uint8_t> altered = good;
    altered[40] ^= 1;
    const std::vector<std::vector<uint8_t>> refused = {Sequence(0x40, 66), altered, Sequence(0x40, 1201)};
    for (const auto& bytes : refused) {
      auto opened = net::OpenRelayAck(hop_key, bytes);
      Require(!opened.ok(), "a broken relay ack was accepted");
      invalid_acks.push_back({{"datagram", ToHex(bytes)}, {"error", opened.error().message}});
    }
  }

  // One session over time: binds until acked (with the first sealed packet, then
  // payload-less), an ack, data, the 15 s rebind, a rebind request. Nonces from a seeded
  // source; the first draw is replaced by one that matches a DPI signature (byte 2 = 2)
  // so the redraw shows too.
  crypto::SeededKeySource seeded(uint64_t{0x7e1a});
  bool first_draw = true;
  auto nonce_source = [&](std::span<uint8_t> out) {
    seeded.Fill(out);
    if (first_draw) out[2] = 0x02;
    first_draw = false;
  };
  auto credentials = net::RelayCredentials::FromBytes(ticket, hop_bytes, bind_key).value();
  const TimePoint start{};
  net::RelayClientSession session(std::move(credentials), start, {}, nonce_source);
  Json steps = Json::array();
  auto wrap = [&](int64_t at_ms, std::size_t size, uint8_t first) {
    const auto sealed = Sequence(first, size);
    auto out = session.Wrap(sealed, start + milliseconds(at_ms));
    Json step = {{"at_ms", at_ms}, {"op", "wrap"}, {"sealed", ToHex(sealed)}};
    if (out.ok()) step["datagram"] = ToHex(*out);
    else step["error"] = out.error().message;
    steps.push_back(step);
  };
  auto due = [&](int64_t at_ms) {
    auto out = session.TakeDueBind(start + milliseconds(at_ms));
    steps.push_back({{"at_ms", at_ms}, {"op", "take_due_bind"}, {"datagram", out ? ToHex(*out) : ""}});
  };
  auto ack_for = [&](int64_t at_ms, uint64_t elapsed_ms, uint8_t nonce_first_byte) {
    net::RelayAckContents ack;
    ack.elapsed_ms = elapsed_ms;
    const std::vector<uint8_t> ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 9};
    std::copy(ip.begin(), ip.end(), ack.ip.begin());
    ack.port = 61000;
    const auto nonce_bytes = Sequence(nonce_first_byte, net::kRelayNonceSize);
    std::array<uint8_t, net::kRelayNonceSize> nonce{};
    std::copy(nonce_bytes.begin(), nonce_bytes.end(), nonce.begin());
    std::vector<uint8_t> datagram(192);
    net::WriteRelayAck(hop_key, nonce, ack, datagram);
    const auto kind = session.Unwrap(datagram).kind;
    steps.push_back({{"at_ms", at_ms}, {"op", "unwrap"}, {"datagram", ToHex(datagram)},
                     {"kind", kind == net::RelayClientSession::Arrival::kAck ? "ack" : "other"},
                     {"ready", session.ready()}, {"binding", session.binding()},
                     {"acks", session.stats().acks}, {"stale_acks", session.stats().stale_acks}});
  };
  wrap(3, 96, 0x40);
  due(300);
  due(503);
  wrap(520, 1100, 0x41);  // too big for a bind before any ack
  ack_for(560, 4000, 0x01);  // for no bind made yet: stale
  ack_for(570, 503, 0x02);
  wrap(580, 128, 0x42);
  wrap(600, 1100, 0x43);  // acknowledged: as data
  due(15002);                // the 15 s rebind is due at 15503: nothing yet
  wrap(15010, 64, 0x44);     // data
  wrap(15510, 64, 0x45);     // the rebind rides on this packet
  wrap(15530, 64, 0x46);     // data
  session.RequestRebind();
  steps.push_back({{"op", "request_rebind"}});
  due(15531);                // at once
  ack_for(15540, 15510, 0x03);  // for a bind before the request: ready, still binding
  wrap(15550, 64, 0x47);     // bind
  ack_for(15560, 15550, 0x04);
  wrap(15570, 64, 0x48);     // data
  return {{"bind_key", ToHex(bind_key)}, {"mark_key", ToHex(keys.mark_key.span())},
          {"mask_key", ToHex(keys.mask_key.span())}, {"hop_key", ToHex(hop_bytes)}, {"ticket", ToHex(ticket)},
          {"binds", binds}, {"acks", acks}, {"invalid_acks", invalid_acks},
          {"session", {{"nonce_seed", "0000000000007e1a"}, {"first_draw_byte2", 2}, {"steps", steps}}}};
}

Json AllVectors() {
  return {
      {"about", "Written by tests/web_vectors/web_vectors.cc from the native code; web/test/native_vectors.test.ts "
                "reproduces every value. Regenerate: web_vectors web/test/vectors/native.json"},
      {"key_source", KeySourceVectors()},
      {"identity", IdentityVectors()},
      {"auth", AuthVectors()},
      {"key_agreement", KeyAgreementVectors()},
      {"fingerprints", FingerprintVectors()},
      {"safety_numbers", SafetyNumberVectors()},
      {"media_packet", MediaPacketVectors()},
      {"receiver_report", ReceiverReportVectors()},
      {"path_probe", ProbeVectors()},
      {"quality_report", QualityReportVectors()},
      {"relay", RelayVectors()},
      {"signaling", SignalingVectors()},
  };
}

}  // namespace
}  // namespace parley

int main(int argc, char** argv) {
  const std::string text = parley::AllVectors().dump(1) + "\n";
  if (argc == 3 && std::string(argv[1]) == "--check") {
    std::ifstream in(argv[2], std::ios::binary);
    std::stringstream existing;
    existing << in.rdbuf();
    if (!in || existing.str() != text) {
      std::cerr << argv[2] << " does not match what the native code produces now. If the change is "
                << "intended, regenerate it (web_vectors " << argv[2] << ") and make the web client "
                << "match (cd web && npx vitest run).\n";
      return 1;
    }
    return 0;
  }
  if (argc != 2) {
    std::cerr << "usage: web_vectors OUT.json | web_vectors --check FILE\n";
    return 2;
  }
  std::ofstream out(argv[1], std::ios::binary);
  out << text;
  if (!out.flush()) {
    std::cerr << "could not write " << argv[1] << "\n";
    return 1;
  }
  return 0;
}
