// The client profile file (strict parse, clear errors, 0600 atomic save) and the
// hello answers (register/login signatures, a hello from another server refused).
#include "parley/signal/client_profile.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "parley/crypto/identity_key.h"
#include "parley/signal/client_auth.h"

namespace parley::signal {
namespace {

ClientProfile Sample() {
  return {"127.0.0.1", 8443, "/ws/abc", std::string(64, 'a'), "parley.test", "alice", "laptop"};
}

TEST(ClientProfile, RoundTrips) {
  const ClientProfile p = Sample();
  EXPECT_EQ(*ParseClientProfile(SerializeClientProfile(p)), p);
  ClientProfile no_pin = p;
  no_pin.pin_sha256.clear();
  EXPECT_EQ(*ParseClientProfile(SerializeClientProfile(no_pin)), no_pin);
}

TEST(ClientProfile, MoreServersRoundTripInOrderAndOldFilesReadUnchanged) {
  // A profile without more_servers is written exactly as before the field existed.
  const std::string old_text = SerializeClientProfile(Sample());
  EXPECT_EQ(old_text.find("more_servers"), std::string::npos);
  EXPECT_TRUE(ParseClientProfile(old_text)->more_servers.empty());
  ClientProfile p = Sample();
  p.more_servers = {{"node2.example", 443, "/ws/def", ""}, {"::1", 9443, "/ws/abc", std::string(64, 'b')}};
  const auto parsed = ParseClientProfile(SerializeClientProfile(p));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, p);
  const std::vector<ProfileServer> servers = parsed->Servers();
  ASSERT_EQ(servers.size(), 3u);
  EXPECT_EQ(servers[0], (ProfileServer{"127.0.0.1", 8443, "/ws/abc", std::string(64, 'a')}));
  EXPECT_EQ(servers[1].host, "node2.example");
  EXPECT_EQ(servers[2].port, 9443);
  p.SetPin(1, std::string(64, 'c'));
  EXPECT_EQ(p.more_servers[0].pin_sha256, std::string(64, 'c'));
  p.SetPin(0, "");
  EXPECT_EQ(p.pin_sha256, "");
  p.SetPin(7, "ignored");  // out of range: nothing
  EXPECT_EQ(p.Servers().size(), 3u);
}

TEST(ClientProfile, MoreServersErrorsNameTheEntry) {
  ClientProfile p = Sample();
  p.more_servers = {{"node2.example", 443, "/ws/def", ""}};
  const std::string text = SerializeClientProfile(p);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string changed = text;
    const std::size_t at = changed.find(from, changed.find("more_servers"));
    changed.replace(at, from.size(), to);
    return ParseClientProfile(changed);
  };
  EXPECT_EQ(with("443", "0").error().message,
            "the client profile's more_servers[0]'s 'server_port' must be a number from 1 to 65535");
  EXPECT_EQ(with("/ws/def", "ws").error().message,
            "the client profile's more_servers[0]'s 'websocket_path' must start with '/'");
  EXPECT_EQ(with("\"pin_sha256\": \"\"", "\"pin_sha256\": \"xyz\"").error().message,
            "the client profile's more_servers[0]'s 'pin_sha256' must be 64 lower-case hex digits");
  EXPECT_EQ(with("\"server_host\"", "\"colour\": 1, \"server_host\"").error().message,
            "the client profile's more_servers[0] has an unknown field 'colour'");
  EXPECT_EQ(with("\"node2.example\"", "7").error().message,
            "the client profile's more_servers[0] needs a text field 'server_host'");
  std::string not_list = text;
  not_list.replace(not_list.find("\"more_servers\": ["), 17, "\"more_servers\": {\"a\":[");
  not_list.replace(not_list.rfind(']'), 1, "]}");
  EXPECT_EQ(ParseClientProfile(not_list).error().message, "the client profile's 'more_servers' must be a list");
  ClientProfile many = Sample();
  many.more_servers.assign(ClientProfile::kMaxMoreServers + 1, {"h", 1, "/p", ""});
  EXPECT_EQ(ParseClientProfile(SerializeClientProfile(many)).error().message,
            "the client profile's 'more_servers' lists more than 8 servers");
  std::string entry_not_object = text;
  const std::size_t open = entry_not_object.find('{', entry_not_object.find("more_servers"));
  const std::size_t close = entry_not_object.find('}', open);
  entry_not_object.replace(open, close + 1 - open, "3");
  EXPECT_EQ(ParseClientProfile(entry_not_object).error().message,
            "the client profile's more_servers[0] is not an object");
}

TEST(ClientProfile, ErrorsNameTheField) {
  EXPECT_EQ(ParseClientProfile("[1]").error().message, "the client profile is not a JSON object");
  EXPECT_EQ(ParseClientProfile("{").error().message, "the client profile is not a JSON object");
  std::string text = SerializeClientProfile(Sample());
  std::string bad_port = text;
  bad_port.replace(bad_port.find("8443"), 4, "70000");
  EXPECT_EQ(ParseClientProfile(bad_port).error().message,
            "the client profile's 'server_port' must be a number from 1 to 65535");
  std::string bad_path = text;
  bad_path.replace(bad_path.find("/ws/abc"), 7, "ws");
  EXPECT_EQ(ParseClientProfile(bad_path).error().message, "the client profile's 'websocket_path' must start with '/'");
  std::string bad_pin = text;
  bad_pin.replace(bad_pin.find("aaaa"), 1, "G");
  EXPECT_EQ(ParseClientProfile(bad_pin).error().message,
            "the client profile's 'pin_sha256' must be 64 lower-case hex digits");
  std::string extra = text;
  extra.replace(extra.find('{'), 1, "{\"colour\": \"red\",");
  EXPECT_EQ(ParseClientProfile(extra).error().message, "the client profile has an unknown field 'colour'");
  std::string missing = text;
  missing.replace(missing.find("\"user\""), 6, "\"usr\"");
  EXPECT_FALSE(ParseClientProfile(missing).ok());
}

TEST(ClientProfile, MissingTooLongAndEmptyFieldsAreNamed) {
  const std::string text = SerializeClientProfile(Sample());
  std::string no_user = text;
  const std::size_t user = no_user.find("  \"user\"");
  no_user.erase(user, no_user.find('\n', user) + 1 - user);
  EXPECT_EQ(ParseClientProfile(no_user).error().message, "the client profile needs a text field 'user'");
  std::string number_user = text;
  number_user.replace(number_user.find("\"alice\""), 7, "7");
  EXPECT_EQ(ParseClientProfile(number_user).error().message, "the client profile needs a text field 'user'");
  ClientProfile long_device = Sample();
  long_device.device = std::string(33, 'd');
  EXPECT_EQ(ParseClientProfile(SerializeClientProfile(long_device)).error().message,
            "the client profile's 'device' is too long");
  ClientProfile no_host = Sample();
  no_host.server_host.clear();
  EXPECT_EQ(ParseClientProfile(SerializeClientProfile(no_host)).error().message,
            "the client profile's 'server_host' is empty");
  ClientProfile no_device = Sample();
  no_device.device.clear();
  EXPECT_EQ(ParseClientProfile(SerializeClientProfile(no_device)).error().message,
            "the client profile names no user or device");
  EXPECT_EQ(ParseClientProfile(std::string(16 * 1024 + 1, ' ')).error().message,
            "the client profile is larger than 16 KiB");
}

TEST(ClientProfile, SavedOwnerOnlyAndLoaded) {
  const auto dir = std::filesystem::temp_directory_path() / ("parley_profile_test_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  EXPECT_NE(LoadClientProfile(dir).error().message.find("run `parley init"), std::string::npos);
  ASSERT_TRUE(SaveClientProfile(dir / "p", Sample()).ok());
  EXPECT_EQ(*LoadClientProfile(dir / "p"), Sample());
  struct stat st {};
  ASSERT_EQ(stat((dir / "p" / "client.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir / "p").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::filesystem::remove_all(dir);
}

TEST(ClientAuth, SignsTheChallengeAndRefusesAnotherServer) {
  std::array<uint8_t, 32> seed{};
  seed.fill(4);
  const auto key = crypto::IdentityKey::FromSeed(seed);
  Hello hello{{}, {}, "parley.test"};
  hello.challenge.fill(9);
  auto reg = AnswerHello(hello, AuthPurpose::kRegister, "", "alice", "laptop", key, uint64_t{1});
  ASSERT_TRUE(reg.ok());
  const auto& r = std::get<Register>(*reg);
  EXPECT_EQ(r.identity_key, key.public_key());
  EXPECT_TRUE(crypto::IdentityKey::Verify(
      key.public_key(), AuthSignedBytes(AuthPurpose::kRegister, hello.challenge, "alice", "laptop", "parley.test"),
      r.signature));
  auto login = AnswerHello(hello, AuthPurpose::kLogin, "parley.test", "alice", "laptop", key, {});
  ASSERT_TRUE(std::holds_alternative<Login>(*login));
  EXPECT_EQ(AnswerHello(hello, AuthPurpose::kLogin, "other.example", "alice", "laptop", key, {}).error().message,
            "The server calls itself 'parley.test', not 'other.example' as when you ran parley init; check the "
            "address, or run parley init again.");
}

}  // namespace
}  // namespace parley::signal
