// "No media before accept" (DESIGN principle 5): a hostile caller drives random
// sequences of every signaling message into a ringing callee; after each step the
// microphone is not opened, nothing is encoded and no media packet is sent.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/base/random.h"
#include "parley/call/call_media.h"
#include "parley/crypto/identity_key.h"
#include "parley/crypto/identity_store.h"
#include "parley/crypto/key_agreement.h"
#include "parley/crypto/key_source.h"
#include "parley/media/audio_input.h"
#include "parley/signal/call_session.h"
#include "parley/signal/messages.h"

namespace parley {
namespace {

using signal::CallSession;
using signal::Message;

// Counting fakes: what the callee's client would open, encode and send.
class CountingInput final : public media::AudioInput {
 public:
  Status Start() override { ++starts; return Ok{}; }
  Status Stop() override { return Ok{}; }
  media::AudioPacing pacing() const override { return media::AudioPacing::kEngine; }
  bool WaitReadable(Duration) override { return true; }
  bool ReadBlock(std::span<media::Sample, media::kBlockSamples> block) override {
    ++reads;
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<media::Sample>((i * 37) % 2000);
    return true;
  }
  media::AudioGlitches glitches() const override { return {}; }
  int starts = 0;
  int reads = 0;
};

class CountingTransport final : public call::MediaTransport {
 public:
  void Send(std::span<const uint8_t>, TimePoint) override { ++sent; }
  std::optional<call::ReceivedPacket> Receive(TimePoint) override { return std::nullopt; }
  int sent = 0;
};

// The callee's client as the CLI wires it: actions in, media created only from a
// StartMediaAction, then driven every step as the media thread would.
struct Callee {
  Callee()
      : identity(crypto::IdentityKey::FromSeed(Seed(2))),
        keys(uint64_t{22}),
        session({.user = "bob", .device = "laptop"}, identity, store, keys) {}

  static std::array<uint8_t, 32> Seed(uint8_t b) {
    std::array<uint8_t, 32> s{};
    s.fill(b);
    return s;
  }

  void Apply(signal::CallActions actions, TimePoint now) {
    for (auto& action : actions) {
      if (auto* send = std::get_if<signal::SendAction>(&action)) sent.push_back(send->message);
      if (auto* start = std::get_if<signal::StartMediaAction>(&action)) {
        ASSERT_EQ(input.Start().ok(), true);
        auto created = call::CallMedia::Create(std::move(start->keys), {}, transport, now);
        ASSERT_TRUE(created.ok());
        media = std::move(*created);
      }
      if (std::holds_alternative<signal::StopMediaAction>(action)) media.reset();
    }
  }
  // One 10 ms step of the media thread, if there is media.
  void RunMedia(TimePoint now) {
    if (!media) return;
    std::array<media::Sample, media::kBlockSamples> block{};
    if (input.ReadBlock(block)) {
      ASSERT_TRUE(media->OnCapturedBlock(block, now).ok());
    }
    media->Pull(now, block);
    ASSERT_TRUE(media->OnTick(now).ok());
  }
  uint64_t frames_encoded() const { return media ? media->stats().frames_encoded : 0; }

  crypto::IdentityKey identity;
  crypto::IdentityStore store;
  crypto::SeededKeySource keys;
  CallSession session;
  CountingInput input;
  CountingTransport transport;
  std::unique_ptr<call::CallMedia> media;
  std::vector<Message> sent;
};

// The hostile caller: a real key agreement (so it can send valid commits and even a
// valid reveal, made against an accept it forged itself) plus random bytes.
struct HostileCaller {
  explicit HostileCaller(uint64_t seed)
      : identity(crypto::IdentityKey::FromSeed(Callee::Seed(1))), keys(seed), random(seed) {
    keys.Fill(call_id);
    keys.Fill(other_call_id);
    context = {call_id, {"alice", "phone"}, {"bob", "laptop"}};
    auto agreement = crypto::KeyAgreement::Create(crypto::Role::kCaller, context, identity, keys);
    caller.emplace(std::move(*agreement));
    commit = *caller->MakeCommit();
    // A pseudo-callee the attacker runs itself, to obtain a reveal for the real commit.
    auto fake_callee = crypto::KeyAgreement::Create(crypto::Role::kCallee, context, attacker_identity(), keys);
    EXPECT_TRUE(fake_callee->Receive(commit).ok());
    forged_accept = *fake_callee->MakeAccept();
    EXPECT_TRUE(caller->Receive(forged_accept).ok());
    valid_reveal = *caller->MakeReveal();
    crypto::CallContext other = context;
    other.call_id = other_call_id;
    auto other_caller = crypto::KeyAgreement::Create(crypto::Role::kCaller, other, identity, keys);
    other_commit = *other_caller->MakeCommit();
  }
  static const crypto::IdentityKey& attacker_identity() {
    static const crypto::IdentityKey key = crypto::IdentityKey::FromSeed(Callee::Seed(9));
    return key;
  }

  signal::Incoming Incoming() const { return {.id = {}, .call_id = call_id, .from = "alice", .from_device = "phone", .commit = commit}; }

  crypto::CallId SomeCallId() {
    switch (random.Between(0, 3)) {
      case 0: return other_call_id;
      case 1: {
        crypto::CallId id{};
        keys.Fill(id);
        return id;
      }
      default: return call_id;
    }
  }
  std::vector<uint8_t> SomeKey(std::size_t size) {
    switch (random.Between(0, 5)) {
      case 0: return commit;
      case 1: return forged_accept;
      case 2: return valid_reveal;
      case 3: return other_commit;
      case 4: return {};
      default: {
        std::vector<uint8_t> bytes(size);
        keys.Fill(bytes);
        return bytes;
      }
    }
  }
  std::vector<uint8_t> SomeTicket() {
    std::vector<uint8_t> t(static_cast<std::size_t>(random.Between(1, 80)));
    keys.Fill(t);
    return t;
  }

  // One message of any type (both directions), as text: valid, wrongly sized, for
  // other call ids, unknown types and garbage.
  std::string Next() {
    const int64_t kind = random.Between(0, 37);
    const crypto::CallId id = SomeCallId();
    const signal::RequestId rid = random.Chance(0.5) ? signal::RequestId{} : signal::RequestId{random.Between(0, 1 << 20)};
    Message m;
    switch (kind) {
      case 0: m = signal::Hello{rid, {}, "parley.test"}; break;
      case 1: m = signal::Welcome{rid, "bob", "laptop", {}}; break;
      case 2: m = signal::ErrorReply{rid, signal::ErrorCode::kNoSuchCall, "no such call"}; break;
      case 3: m = signal::OkReply{rid}; break;
      case 4: m = signal::Route{rid, id, "laptop"}; break;
      case 5: m = signal::Incoming{rid, id, random.Chance(0.5) ? "alice" : "mallory", "phone", SomeKey(crypto::kCommitSize)}; break;
      case 6: m = signal::Ringing{rid, id}; break;
      case 7: m = signal::Accepted{rid, id, SomeKey(crypto::kAcceptSize)}; break;
      case 8: m = signal::Revealed{rid, id, SomeKey(crypto::kRevealSize)}; break;
      case 9: m = signal::Relay{rid, id, "127.0.0.1", 3478, SomeTicket()}; break;
      case 10: {
        // `ended` for this call ends the ringing; mostly for other calls.
        if (id == call_id && random.Chance(0.8)) return Next();
        m = signal::Ended{rid, id, static_cast<signal::EndReason>(random.Between(0, 8))};
        break;
      }
      case 11: m = signal::Presence{rid, "alice", true}; break;
      case 12: m = signal::ContactList{rid, {"alice"}}; break;
      case 13: m = signal::BlockList{rid, {}}; break;
      case 14: m = signal::CurrentSettings{rid, signal::Audience::kEveryone, signal::Audience::kNobody}; break;
      case 15: m = signal::CallHistory{rid, {}}; break;
      case 16: m = signal::Register{rid, "alice", "phone", {}, {}}; break;
      case 17: m = signal::Login{rid, "alice", "phone", {}}; break;
      case 18: m = signal::DeleteAccount{rid, {}}; break;
      case 19: m = signal::Invite{rid, id, "bob"}; break;
      case 20: m = signal::Offer{rid, id, SomeKey(crypto::kCommitSize)}; break;
      case 21: m = signal::Accept{rid, id, SomeKey(crypto::kAcceptSize)}; break;
      case 22: m = signal::Reveal{rid, id, SomeKey(crypto::kRevealSize)}; break;
      case 23: m = signal::Decline{rid, id}; break;
      case 24: m = signal::Cancel{rid, id}; break;
      case 25: m = signal::Hangup{rid, id}; break;
      case 26: m = signal::ContactsAdd{rid, "alice"}; break;
      case 27: m = signal::ContactsRemove{rid, "alice"}; break;
      case 28: m = signal::ContactsList{rid}; break;
      case 29: m = signal::BlockUser{rid, "alice"}; break;
      case 30: m = signal::UnblockUser{rid, "alice"}; break;
      case 31: m = signal::Blocks{rid}; break;
      case 32: m = signal::Settings{rid, signal::Audience::kEveryone, {}}; break;
      case 33: m = signal::History{rid, 5}; break;
      case 34: return R"({"type":"start_media","call_id":"AAAAAAAAAAAAAAAAAAAAAA"})";  // unknown type
      case 35: return R"({"type":"accepted"})";                                       // missing fields
      case 36: return "not json at all {";
      default: m = Incoming(); break;  // a duplicate offer of the ringing call
    }
    return signal::SerializeMessage(m);
  }

  crypto::IdentityKey identity;
  crypto::SeededKeySource keys;
  Random random;
  crypto::CallId call_id{}, other_call_id{};
  crypto::CallContext context;
  std::optional<crypto::KeyAgreement> caller;
  std::vector<uint8_t> commit, forged_accept, valid_reveal, other_commit;
};

void ExpectNoMedia(const Callee& bob, const std::string& step) {
  ASSERT_EQ(bob.input.starts, 0) << "microphone opened after: " << step;
  ASSERT_EQ(bob.frames_encoded(), 0u) << "frame encoded after: " << step;
  ASSERT_EQ(bob.transport.sent, 0) << "media packet sent after: " << step;
  ASSERT_FALSE(bob.session.media_started()) << step;
}

TEST(NoMediaBeforeAccept, HostileCallerCannotStartMediaWhileRinging) {
  constexpr int kIterations = 300;
  constexpr int kSteps = 60;
  int ringing_steps = 0;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    HostileCaller mallory(1000 + static_cast<uint64_t>(iteration));
    Callee bob;
    TimePoint now{};
    bob.Apply(bob.session.OnMessage(mallory.Incoming(), now), now);
    ASSERT_EQ(bob.session.state(), signal::CallState::kIncoming);
    for (int step = 0; step < kSteps; ++step) {
      now += milliseconds(10);
      const std::string text = mallory.Next();
      bob.Apply(bob.session.OnServerText(text, now), now);
      if (mallory.random.Chance(0.05)) bob.Apply(bob.session.ApproveKey(now), now);  // harmless
      bob.Apply(bob.session.OnTick(now), now);
      bob.RunMedia(now);
      ExpectNoMedia(bob, text);
      if (bob.session.state() == signal::CallState::kIncoming) ++ringing_steps;
      if (bob.session.state() == signal::CallState::kIdle) {
        // The call ended (an `ended` for it): ring again with the same offer.
        bob.Apply(bob.session.OnMessage(mallory.Incoming(), now), now);
      }
    }
    // Nothing the callee sent could be an accept: only the user accepts.
    for (const Message& m : bob.sent) {
      ASSERT_FALSE(std::holds_alternative<signal::Accept>(m)) << signal::SerializeMessage(m);
    }
  }
  EXPECT_GT(ringing_steps, kIterations * kSteps / 2);  // the test really ran while ringing
}

// The control: the same fakes do count once the user accepts and the caller reveals,
// so the zeros above mean something.
TEST(NoMediaBeforeAccept, MediaStartsOnlyAfterAcceptRevealAndRelay) {
  HostileCaller alice(7);
  // A fresh honest caller for this call (the hostile one already used its agreement).
  crypto::SeededKeySource caller_keys(uint64_t{77});
  auto caller = crypto::KeyAgreement::Create(crypto::Role::kCaller, alice.context, alice.identity, caller_keys);
  const auto commit = *caller->MakeCommit();
  Callee bob;
  TimePoint now{};
  signal::Incoming incoming = alice.Incoming();
  incoming.commit = commit;
  bob.Apply(bob.session.OnMessage(incoming, now), now);
  ASSERT_EQ(bob.session.state(), signal::CallState::kIncoming);

  // A relay ticket before the answer is ignored.
  bob.Apply(bob.session.OnMessage(signal::Relay{{}, alice.call_id, "127.0.0.1", 9, {1, 2, 3}}, now), now);
  ExpectNoMedia(bob, "early relay");

  bob.Apply(bob.session.Accept(now), now);
  ASSERT_FALSE(bob.sent.empty());
  const auto* accept = std::get_if<signal::Accept>(&bob.sent.back());
  ASSERT_NE(accept, nullptr);
  ExpectNoMedia(bob, "accept without reveal");  // keys not complete yet
  ASSERT_TRUE(caller->Receive(accept->key).ok());
  const auto reveal = *caller->MakeReveal();
  bob.Apply(bob.session.OnMessage(signal::Relay{{}, alice.call_id, "127.0.0.1", 9, {1, 2, 3}}, now), now);
  ExpectNoMedia(bob, "relay without reveal");
  bob.Apply(bob.session.OnMessage(signal::Revealed{{}, alice.call_id, reveal}, now), now);
  ASSERT_TRUE(bob.session.media_started());
  EXPECT_EQ(bob.input.starts, 1);
  for (int i = 0; i < 10; ++i) {
    now += milliseconds(10);
    bob.RunMedia(now);
  }
  EXPECT_EQ(bob.frames_encoded(), 5u);  // 20 ms frames
  EXPECT_EQ(bob.transport.sent, 5);
  EXPECT_EQ(bob.media->fingerprint(), caller->fingerprint());
}

}  // namespace
}  // namespace parley
