// CallSession: every state transition of both roles, the identity-key checks, the
// set-up timeouts, every sentence a call can end with, and the P2P candidate exchange
// (only after accept, only when `relay` says p2p, never when one's own setting is nobody).
#include "parley/signal/call_session.h"

#include <gtest/gtest.h>

#include <array>

namespace parley::signal {
namespace {

std::array<uint8_t, 32> Seed(uint8_t b) {
  std::array<uint8_t, 32> s{};
  s.fill(b);
  return s;
}

template <typename T>
const T* Find(const CallActions& actions) {
  for (const auto& a : actions) {
    if (const T* t = std::get_if<T>(&a)) return t;
  }
  return nullptr;
}

template <typename T>
const T* Sent(const CallActions& actions) {
  for (const auto& a : actions) {
    if (const auto* s = std::get_if<SendAction>(&a)) {
      if (const T* t = std::get_if<T>(&s->message)) return t;
    }
  }
  return nullptr;
}

struct Party {
  Party(std::string user, std::string device, uint8_t seed, Audience own_p2p = Audience::kNobody)
      : identity(crypto::IdentityKey::FromSeed(Seed(seed))),
        keys(uint64_t{seed}),
        session({.user = user, .device = device, .own_p2p = own_p2p}, identity, store, keys) {}
  crypto::IdentityKey identity;
  crypto::IdentityStore store;
  crypto::SeededKeySource keys;
  CallSession session;
};

class CallSessionTest : public ::testing::Test {
 protected:
  explicit CallSessionTest(Audience alice_p2p = Audience::kNobody, Audience bob_p2p = Audience::kNobody)
      : alice("alice", "phone", 1, alice_p2p), bob("bob", "laptop", 2, bob_p2p) {}

  // Alice calls bob up to the point where bob's device rings.
  void Ring() {
    auto a = alice.session.Call("bob", now);
    const Invite* invite = Sent<Invite>(a);
    ASSERT_NE(invite, nullptr);
    EXPECT_EQ(invite->to, "bob");
    EXPECT_TRUE(invite->id.has_value());
    EXPECT_EQ(alice.session.state(), CallState::kInviting);
    call_id = invite->call_id;
    a = alice.session.OnMessage(Route{{}, call_id, "laptop"}, now);
    const Offer* offer = Sent<Offer>(a);
    ASSERT_NE(offer, nullptr);
    EXPECT_EQ(alice.session.state(), CallState::kOffering);
    commit = offer->commit;
    auto b = bob.session.OnMessage(Incoming{{}, call_id, "alice", "phone", commit}, now);
    const IncomingAction* incoming = Find<IncomingAction>(b);
    ASSERT_NE(incoming, nullptr);
    EXPECT_EQ(incoming->from, "alice");
    bob_incoming = b;
    EXPECT_EQ(bob.session.state(), CallState::kIncoming);
    a = alice.session.OnMessage(Ringing{{}, call_id}, now);
    ASSERT_NE(Find<RingingAction>(a), nullptr);
    EXPECT_EQ(alice.session.state(), CallState::kRinging);
  }

  // Bob answers; alice reveals; both get tickets. Returns both StartMedia fingerprints.
  void Connect(bool relay_p2p = false) {
    Ring();
    auto b = bob.session.Accept(now);
    const Accept* accept = Sent<Accept>(b);
    ASSERT_NE(accept, nullptr);
    EXPECT_EQ(bob.session.state(), CallState::kConnecting);
    auto a = alice.session.OnMessage(Accepted{{}, call_id, accept->key}, now);
    ASSERT_NE(Sent<Reveal>(a), nullptr);
    const std::vector<uint8_t> reveal_key = Sent<Reveal>(a)->key;
    EXPECT_EQ(Find<StartMediaAction>(a), nullptr);  // no ticket yet
    auto a2 = alice.session.OnMessage(Relay{{}, call_id, "127.0.0.1", 5000, {0}, relay_p2p}, now);
    const StartMediaAction* alice_media = Find<StartMediaAction>(a2);
    ASSERT_NE(alice_media, nullptr);
    EXPECT_EQ(alice_media->ticket, std::vector<uint8_t>{0});
    b = bob.session.OnMessage(Relay{{}, call_id, "127.0.0.1", 5000, {1}, relay_p2p}, now);
    EXPECT_EQ(Find<StartMediaAction>(b), nullptr);  // no reveal yet
    b = bob.session.OnMessage(Revealed{{}, call_id, reveal_key}, now);
    const StartMediaAction* bob_media = Find<StartMediaAction>(b);
    ASSERT_NE(bob_media, nullptr);
    EXPECT_EQ(bob_media->relay_port, 5000);
    EXPECT_EQ(bob_media->ticket, std::vector<uint8_t>{1});
    EXPECT_EQ(alice_media->keys.fingerprint, bob_media->keys.fingerprint);
    alice_p2p_media = alice_media->p2p;
    bob_p2p_media = bob_media->p2p;
    EXPECT_EQ(alice.session.state(), CallState::kConnected);
    EXPECT_EQ(bob.session.state(), CallState::kConnected);
  }

  TimePoint now{};
  Party alice, bob;
  CallId call_id{};
  std::vector<uint8_t> commit;
  CallActions bob_incoming;
  bool alice_p2p_media = false, bob_p2p_media = false;  // StartMediaAction::p2p of each
};

TEST_F(CallSessionTest, FullCallConnectsWithEqualFingerprintsAndHangsUp) {
  Connect();
  EXPECT_EQ(Find<IncomingAction>(bob_incoming)->check.status, crypto::PeerKeyStatus::kFirstContact);
  EXPECT_EQ(Find<KeyWarningAction>(bob_incoming), nullptr);
  auto a = alice.session.HangUp(now);
  ASSERT_NE(Sent<Hangup>(a), nullptr);
  ASSERT_NE(Find<StopMediaAction>(a), nullptr);
  const auto* ended = Find<CallEndedAction>(a);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(ended->sentence, "You hung up the call with bob.");
  EXPECT_TRUE(ended->was_connected);
  EXPECT_EQ(alice.session.state(), CallState::kIdle);
  auto b = bob.session.OnMessage(Ended{{}, call_id, EndReason::kHangup}, now);
  ASSERT_NE(Find<StopMediaAction>(b), nullptr);
  EXPECT_EQ(Find<CallEndedAction>(b)->sentence, "alice hung up (or lost the connection).");
  EXPECT_EQ(bob.session.state(), CallState::kIdle);
  // The server's echo of alice's own hangup is ignored once the call is over.
  EXPECT_TRUE(alice.session.OnMessage(Ended{{}, call_id, EndReason::kHangup}, now).empty());
}

TEST_F(CallSessionTest, EveryEndReasonGivesItsSentence) {
  for (int r = 0; r <= static_cast<int>(EndReason::kFailed); ++r) {
    const auto reason = static_cast<EndReason>(r);
    auto a = alice.session.Call("bob", now);
    const CallId id = Sent<Invite>(a)->call_id;
    a = alice.session.OnMessage(Ended{{}, id, reason}, now);
    const auto* ended = Find<CallEndedAction>(a);
    ASSERT_NE(ended, nullptr) << ToString(reason);
    EXPECT_EQ(ended->reason, reason);
    EXPECT_EQ(ended->sentence, DescribeEnd(reason, "bob"));
    EXPECT_FALSE(ended->was_connected);
    EXPECT_EQ(alice.session.state(), CallState::kIdle);
  }
  EXPECT_EQ(DescribeEnd(EndReason::kDeclined, "bob"), "bob declined the call.");
  EXPECT_EQ(DescribeEnd(EndReason::kBusy, "bob"), "bob is busy in another call; try again later.");
  EXPECT_EQ(DescribeEnd(EndReason::kTimeout, "bob"), "The call with bob was not answered in time.");
}

TEST_F(CallSessionTest, CalleeDeclines) {
  Ring();
  auto b = bob.session.Decline(now);
  ASSERT_NE(Sent<Decline>(b), nullptr);
  EXPECT_EQ(Find<CallEndedAction>(b)->sentence, "You declined the call from alice.");
  auto a = alice.session.OnMessage(Ended{{}, call_id, EndReason::kDeclined}, now);
  EXPECT_EQ(Find<CallEndedAction>(a)->sentence, "bob declined the call.");
}

TEST_F(CallSessionTest, HangUpWhileRingingDeclinesOnTheCallee) {
  Ring();
  auto b = bob.session.HangUp(now);
  ASSERT_NE(Sent<Decline>(b), nullptr);
}

TEST_F(CallSessionTest, CallerCancelsInEveryStateBeforeTheAnswer) {
  // Inviting.
  auto a = alice.session.Call("bob", now);
  a = alice.session.HangUp(now);
  ASSERT_NE(Sent<Cancel>(a), nullptr);
  EXPECT_EQ(Find<CallEndedAction>(a)->sentence, "You cancelled the call to bob.");
  // Offering.
  a = alice.session.Call("bob", now);
  const CallId id = Sent<Invite>(a)->call_id;
  alice.session.OnMessage(Route{{}, id, "laptop"}, now);
  ASSERT_EQ(alice.session.state(), CallState::kOffering);
  ASSERT_NE(Sent<Cancel>(alice.session.HangUp(now)), nullptr);
  // Ringing, and the callee sees the cancel.
  Ring();
  ASSERT_NE(Sent<Cancel>(alice.session.HangUp(now)), nullptr);
  auto b = bob.session.OnMessage(Ended{{}, call_id, EndReason::kCancelled}, now);
  EXPECT_EQ(Find<CallEndedAction>(b)->sentence, "alice cancelled the call.");
}

TEST_F(CallSessionTest, UserActionsThatDoNotFitGiveANotice) {
  EXPECT_NE(Find<NoticeAction>(alice.session.Accept(now)), nullptr);
  EXPECT_NE(Find<NoticeAction>(alice.session.Decline(now)), nullptr);
  EXPECT_NE(Find<NoticeAction>(alice.session.HangUp(now)), nullptr);
  EXPECT_NE(Find<NoticeAction>(alice.session.ApproveKey(now)), nullptr);
  EXPECT_EQ(Find<NoticeAction>(alice.session.Call("alice", now))->sentence, "You cannot call yourself.");
  alice.session.Call("bob", now);
  EXPECT_EQ(Find<NoticeAction>(alice.session.Call("carol", now))->sentence,
            "You are already in a call; hang up first.");
}

TEST_F(CallSessionTest, MessagesForOtherCallsOrInTheWrongStateChangeNothing) {
  Ring();
  CallId other = call_id;
  other[0] ^= 1;
  EXPECT_TRUE(alice.session.OnMessage(Ended{{}, other, EndReason::kHangup}, now).empty());
  EXPECT_TRUE(alice.session.OnMessage(Route{{}, call_id, "laptop"}, now).empty());  // late route
  EXPECT_TRUE(bob.session.OnMessage(Incoming{{}, other, "carol", "x", commit}, now).empty());  // busy
  EXPECT_TRUE(bob.session.OnMessage(Revealed{{}, call_id, std::vector<uint8_t>(114)}, now).empty());
  EXPECT_TRUE(bob.session.OnServerText("{garbage", now).empty());
  EXPECT_EQ(alice.session.state(), CallState::kRinging);
  EXPECT_EQ(bob.session.state(), CallState::kIncoming);
}

TEST_F(CallSessionTest, ServerErrorForACallRequestEndsTheCall) {
  auto a = alice.session.Call("bob", now);
  const Invite* invite = Sent<Invite>(a);
  // An error for someone else's request is not ours.
  EXPECT_TRUE(alice.session.OnMessage(ErrorReply{uint64_t{3}, ErrorCode::kInCall, "x"}, now).empty());
  a = alice.session.OnMessage(ErrorReply{invite->id, ErrorCode::kInCall, "You are already in a call."}, now);
  EXPECT_EQ(Find<CallEndedAction>(a)->sentence, "parleyd refused the call: You are already in a call.");
}

TEST_F(CallSessionTest, SetUpTimesOutWhenTheServerDoesNotAnswer) {
  alice.session.Call("bob", now);
  EXPECT_TRUE(alice.session.OnTick(now + seconds(14)).empty());
  auto a = alice.session.OnTick(now + seconds(15));
  ASSERT_NE(Sent<Cancel>(a), nullptr);
  EXPECT_EQ(Find<CallEndedAction>(a)->sentence,
            "parleyd did not answer in time; check your connection and try again.");
}

TEST_F(CallSessionTest, KeyExchangeAfterTheAnswerTimesOut) {
  Ring();
  bob.session.Accept(now);  // the reveal never comes
  auto b = bob.session.OnTick(now + seconds(15));
  ASSERT_NE(Sent<Hangup>(b), nullptr);
  EXPECT_EQ(Find<CallEndedAction>(b)->sentence, "The call with alice could not be connected in time; try again.");
}

TEST_F(CallSessionTest, RingingWaitsForTheServersRingTimeout) {
  Ring();
  EXPECT_TRUE(alice.session.OnTick(now + seconds(600)).empty());
  EXPECT_TRUE(bob.session.OnTick(now + seconds(600)).empty());
}

TEST_F(CallSessionTest, AnInvalidCommitIsDeclinedWithoutRinging) {
  auto b = bob.session.OnMessage(Incoming{{}, CallId{}, "alice", "phone", std::vector<uint8_t>(146, 7)}, now);
  EXPECT_EQ(Find<IncomingAction>(b), nullptr);
  ASSERT_NE(Sent<Decline>(b), nullptr);
  EXPECT_EQ(Find<CallEndedAction>(b)->sentence,
            "An incoming call from alice was refused: its key exchange did not verify.");
  EXPECT_EQ(bob.session.state(), CallState::kIdle);
}

TEST_F(CallSessionTest, AnInvalidAcceptEndsTheCallForTheCaller) {
  Ring();
  // An accept made for another callee identity is still a valid accept message...
  // but random bytes of the right size are not.
  auto a = alice.session.OnMessage(Accepted{{}, call_id, std::vector<uint8_t>(146, 2)}, now);
  // Unparseable: refused without aborting, the call goes on ringing.
  EXPECT_EQ(alice.session.state(), CallState::kRinging);
  EXPECT_TRUE(a.empty());
}

TEST_F(CallSessionTest, ChangedKeyOfAnUnverifiedPeerWarnsAndGoesOn) {
  // Bob remembers a different key for alice's phone.
  ASSERT_TRUE(bob.store.CheckAndRemember("alice", "phone", crypto::IdentityKey::FromSeed(Seed(5)).public_key()).ok());
  Ring();
  const auto* warning = Find<KeyWarningAction>(bob_incoming);
  ASSERT_NE(warning, nullptr);
  EXPECT_FALSE(warning->blocked);
  EXPECT_EQ(warning->check.status, crypto::PeerKeyStatus::kChanged);
  EXPECT_EQ(warning->sentence,
            "Warning: alice's identity key has changed since your last call; compare the call fingerprint out "
            "loud, and safety numbers with `parley verify alice`.");
  EXPECT_FALSE(Find<IncomingAction>(bob_incoming)->approval_needed);
  EXPECT_NE(Sent<Accept>(bob.session.Accept(now)), nullptr);
}

TEST_F(CallSessionTest, ChangedKeyOfAVerifiedCallerNeedsApprovalBeforeAnswering) {
  const auto old_key = crypto::IdentityKey::FromSeed(Seed(5)).public_key();
  ASSERT_TRUE(bob.store.CheckAndRemember("alice", "phone", old_key).ok());
  ASSERT_TRUE(bob.store.MarkVerified("alice", "phone", old_key).ok());
  Ring();
  const auto* warning = Find<KeyWarningAction>(bob_incoming);
  ASSERT_NE(warning, nullptr);
  EXPECT_TRUE(warning->blocked);
  EXPECT_TRUE(Find<IncomingAction>(bob_incoming)->approval_needed);
  auto b = bob.session.Accept(now);
  EXPECT_EQ(Sent<Accept>(b), nullptr);
  ASSERT_NE(Find<NoticeAction>(b), nullptr);
  b = bob.session.ApproveKey(now);
  EXPECT_EQ(Find<NoticeAction>(b)->sentence, "You approved alice's new identity key.");
  EXPECT_NE(Sent<Accept>(bob.session.Accept(now)), nullptr);
  EXPECT_EQ(bob.store.Check("alice", "phone", alice.identity.public_key()).status, crypto::PeerKeyStatus::kKnown);
}

TEST_F(CallSessionTest, ChangedKeyOfAVerifiedCalleeHoldsTheRevealUntilApproved) {
  const auto old_key = crypto::IdentityKey::FromSeed(Seed(6)).public_key();
  ASSERT_TRUE(alice.store.CheckAndRemember("bob", "laptop", old_key).ok());
  ASSERT_TRUE(alice.store.MarkVerified("bob", "laptop", old_key).ok());
  Ring();
  auto b = bob.session.Accept(now);
  auto a = alice.session.OnMessage(Accepted{{}, call_id, Sent<Accept>(b)->key}, now);
  const auto* warning = Find<KeyWarningAction>(a);
  ASSERT_NE(warning, nullptr);
  EXPECT_TRUE(warning->blocked);
  EXPECT_EQ(warning->sentence,
            "You verified bob, but their identity key has changed: the call is held until you compare safety "
            "numbers again (parley verify bob) and approve the new key.");
  EXPECT_EQ(Sent<Reveal>(a), nullptr);
  EXPECT_EQ(alice.session.state(), CallState::kAwaitingApproval);
  // The ticket may arrive while the user decides; media still waits.
  EXPECT_EQ(Find<StartMediaAction>(alice.session.OnMessage(Relay{{}, call_id, "127.0.0.1", 1, {0}}, now)), nullptr);
  a = alice.session.ApproveKey(now);
  EXPECT_NE(Sent<Reveal>(a), nullptr);
  EXPECT_NE(Find<StartMediaAction>(a), nullptr);
}

TEST_F(CallSessionTest, RefusingAVerifiedPeersChangedKeyHangsUp) {
  const auto old_key = crypto::IdentityKey::FromSeed(Seed(6)).public_key();
  ASSERT_TRUE(alice.store.CheckAndRemember("bob", "laptop", old_key).ok());
  ASSERT_TRUE(alice.store.MarkVerified("bob", "laptop", old_key).ok());
  Ring();
  auto b = bob.session.Accept(now);
  alice.session.OnMessage(Accepted{{}, call_id, Sent<Accept>(b)->key}, now);
  auto a = alice.session.HangUp(now);
  EXPECT_NE(Sent<Hangup>(a), nullptr);
  EXPECT_EQ(Find<StopMediaAction>(a), nullptr);
  // Nothing was stored for the refused key.
  EXPECT_EQ(alice.store.Check("bob", "laptop", bob.identity.public_key()).status, crypto::PeerKeyStatus::kChanged);
}

TEST_F(CallSessionTest, LostConnectionEndsTheCall) {
  Connect();
  auto a = alice.session.OnDisconnected(now);
  EXPECT_NE(Find<StopMediaAction>(a), nullptr);
  EXPECT_EQ(Find<CallEndedAction>(a)->sentence, "The connection to the server was lost, so the call with bob ended.");
  EXPECT_TRUE(bob.session.OnDisconnected(now).size() == 2);
  EXPECT_TRUE(bob.session.OnDisconnected(now).empty());
}

TEST_F(CallSessionTest, PeerByeEndsAConnectedCallAsAHangup) {
  // Before media runs a bye changes nothing (it cannot be authentic before the keys).
  Ring();
  EXPECT_TRUE(bob.session.OnPeerBye(now).empty());
  EXPECT_EQ(bob.session.state(), CallState::kIncoming);
  alice.session.HangUp(now);
  bob.session.OnMessage(Ended{{}, call_id, EndReason::kCancelled}, now);
  Connect();
  auto b = bob.session.OnPeerBye(now);
  ASSERT_NE(Find<StopMediaAction>(b), nullptr);
  const auto* ended = Find<CallEndedAction>(b);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(ended->reason, EndReason::kHangup);
  EXPECT_TRUE(ended->was_connected);
  // A hangup goes to the server, which may still hold the call (the peer's connection
  // went away) or may not know it any more (restarted).
  ASSERT_EQ(b.size(), 3u);
  const auto* sent = Find<SendAction>(b);
  ASSERT_NE(sent, nullptr);
  ASSERT_TRUE(std::holds_alternative<Hangup>(sent->message));
  const Hangup& hangup = std::get<Hangup>(sent->message);
  EXPECT_EQ(hangup.call_id, call_id);
  EXPECT_EQ(bob.session.state(), CallState::kIdle);
  EXPECT_TRUE(bob.session.OnMessage(ErrorReply{hangup.id, ErrorCode::kNoSuchCall, "gone"}, now).empty());
  // The server's `ended` that may follow, and a second bye copy, change nothing.
  EXPECT_TRUE(bob.session.OnMessage(Ended{{}, call_id, EndReason::kHangup}, now).empty());
  EXPECT_TRUE(bob.session.OnPeerBye(now).empty());
}

TEST_F(CallSessionTest, SessionIsReusableForTheNextCall) {
  Connect();
  alice.session.HangUp(now);
  bob.session.OnMessage(Ended{{}, call_id, EndReason::kHangup}, now);
  Connect();  // again, with a fresh call id
}


net::UdpEndpoint Endpoint(const std::string& text) {
  auto endpoint = net::UdpEndpoint::Parse(text);
  EXPECT_TRUE(endpoint.ok()) << text;
  return *endpoint;
}

const std::vector<net::UdpEndpoint> kCandidates = {Endpoint("192.0.2.10:40000"), Endpoint("198.51.100.7:40001")};

// Both users allow P2P (alice for everyone, bob for contacts).
class CallSessionP2pTest : public CallSessionTest {
 protected:
  CallSessionP2pTest() : CallSessionTest(Audience::kEveryone, Audience::kContacts) {}
};

// Bob's own setting says nobody.
class CallSessionP2pRefusedTest : public CallSessionTest {
 protected:
  CallSessionP2pRefusedTest() : CallSessionTest(Audience::kEveryone, Audience::kNobody) {}
};

TEST_F(CallSessionP2pTest, CandidatesGoOutOnlyAfterARelayThatAllowsP2p) {
  EXPECT_TRUE(alice.session.OfferCandidates(kCandidates, now).empty());  // idle
  Connect(/*relay_p2p=*/true);
  EXPECT_TRUE(alice_p2p_media);
  EXPECT_TRUE(bob_p2p_media);
  EXPECT_TRUE(alice.session.p2p_allowed());

  const CallActions out = alice.session.OfferCandidates(kCandidates, now);
  ASSERT_EQ(out.size(), 1u);
  const Candidates* sent = Sent<Candidates>(out);
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->call_id, call_id);
  EXPECT_EQ(sent->candidates, kCandidates);
  EXPECT_TRUE(sent->id.has_value());
  // The same list again is not repeated; a changed one is.
  EXPECT_TRUE(alice.session.OfferCandidates(kCandidates, now).empty());
  EXPECT_NE(Sent<Candidates>(alice.session.OfferCandidates({kCandidates[1]}, now)), nullptr);
}

TEST_F(CallSessionP2pTest, NoCandidatesMoveBeforeTheCallIsAccepted) {
  Ring();
  EXPECT_TRUE(alice.session.OfferCandidates(kCandidates, now).empty());
  EXPECT_TRUE(bob.session.OfferCandidates(kCandidates, now).empty());
  EXPECT_TRUE(bob.session.OnMessage(PeerCandidates{{}, call_id, kCandidates}, now).empty());
  (void)bob.session.Accept(now);  // accepted, but no relay (and so no p2p) yet
  EXPECT_TRUE(bob.session.OfferCandidates(kCandidates, now).empty());
  EXPECT_FALSE(bob.session.p2p_allowed());
}

TEST_F(CallSessionP2pTest, UnusableCandidatesAreLeftOutAndAtMostEightGo) {
  Connect(true);
  std::vector<net::UdpEndpoint> many = {Endpoint("192.0.2.1:0"), Endpoint("224.0.0.1:5000")};  // no port, multicast
  for (int i = 1; i <= 10; ++i) many.push_back(Endpoint("192.0.2." + std::to_string(i) + ":4000"));
  const CallActions out = alice.session.OfferCandidates(many, now);
  const Candidates* sent = Sent<Candidates>(out);
  ASSERT_NE(sent, nullptr);
  ASSERT_EQ(sent->candidates.size(), net::kMaxCandidates);
  EXPECT_EQ(sent->candidates.front(), Endpoint("192.0.2.1:4000"));
  // Nothing usable: nothing sent.
  EXPECT_TRUE(bob.session.OfferCandidates({Endpoint("192.0.2.1:0")}, now).empty());
}

TEST_F(CallSessionP2pTest, PeerCandidatesBecomeAnActionForThisCallOnly) {
  Connect(true);
  const CallActions out = bob.session.OnMessage(PeerCandidates{{}, call_id, kCandidates}, now);
  const PeerCandidatesAction* action = Find<PeerCandidatesAction>(out);
  ASSERT_NE(action, nullptr);
  EXPECT_EQ(action->candidates, kCandidates);
  CallId other = call_id;
  other[0] ^= 1;
  EXPECT_TRUE(bob.session.OnMessage(PeerCandidates{{}, other, kCandidates}, now).empty());
  // After the call, neither way.
  (void)bob.session.HangUp(now);
  EXPECT_TRUE(bob.session.OnMessage(PeerCandidates{{}, call_id, kCandidates}, now).empty());
  EXPECT_TRUE(bob.session.OfferCandidates(kCandidates, now).empty());
}

TEST_F(CallSessionP2pTest, ARefusalOfCandidatesIsANoticeAndTheCallGoesOn) {
  Connect(true);
  const CallActions offer = alice.session.OfferCandidates(kCandidates, now);
  const Candidates* sent = Sent<Candidates>(offer);
  ASSERT_NE(sent, nullptr);
  ASSERT_FALSE(alice.session.IsCallRequest(sent->id));
  const CallActions out =
      alice.session.OnMessage(ErrorReply{sent->id, ErrorCode::kNotAllowed, "This call does not allow a direct path."},
                              now);
  ASSERT_NE(Find<NoticeAction>(out), nullptr);
  EXPECT_EQ(Find<CallEndedAction>(out), nullptr);
  EXPECT_EQ(alice.session.state(), CallState::kConnected);
}

TEST_F(CallSessionP2pTest, ARelayWithoutP2pKeepsBothOnTheRelay) {
  Connect(/*relay_p2p=*/false);
  EXPECT_FALSE(alice_p2p_media);
  EXPECT_FALSE(bob_p2p_media);
  EXPECT_TRUE(alice.session.OfferCandidates(kCandidates, now).empty());
  EXPECT_TRUE(bob.session.OnMessage(PeerCandidates{{}, call_id, kCandidates}, now).empty());
}

TEST_F(CallSessionP2pRefusedTest, OwnSettingNobodyNeverSendsOrUsesCandidates) {
  Connect(/*relay_p2p=*/true);  // even if a server said yes
  EXPECT_TRUE(alice_p2p_media);
  EXPECT_FALSE(bob_p2p_media);
  EXPECT_FALSE(bob.session.p2p_allowed());
  EXPECT_TRUE(bob.session.OfferCandidates(kCandidates, now).empty());
  EXPECT_TRUE(bob.session.OnMessage(PeerCandidates{{}, call_id, kCandidates}, now).empty());
}

}  // namespace
}  // namespace parley::signal
