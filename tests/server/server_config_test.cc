// Tests for parleyd's config: TOML loading and its errors, overrides, validation, and
// --print-config reading back to the same settings.
#include "parley/server/server_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace parley::server {
namespace {

using ::testing::HasSubstr;

TEST(ServerConfigTest, EmptyFileGivesDefaults) {
  auto c = ParseServerConfig("", "empty.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(*c, ServerConfig{});
  EXPECT_EQ(c->tcp_port, 8443);
  EXPECT_EQ(c->udp_port, 8443);
}

TEST(ServerConfigTest, ReadsEverySection) {
  auto c = ParseServerConfig(R"(
data_dir = "/var/lib/parleyd"
log_level = "debug"
[listen]
host = "::"
tcp_port = 443
udp_port = 3478
[tls]
server_name = "example.org"
certificate = "/etc/le/fullchain.pem"
key = "/etc/le/privkey.pem"
[signaling]
websocket_path = "/ws/abc"
ring_timeout_s = 30
[relay]
public_host = "relay.example.org"
allow_loopback = true
[limits]
max_connections_per_ip = 8
tls_handshake_timeout_ms = 2500
)",
                             "p.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->data_dir, "/var/lib/parleyd");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->listen_host, "::");
  EXPECT_EQ(c->tcp_port, 443);
  EXPECT_EQ(c->udp_port, 3478);
  EXPECT_EQ(c->server_name, "example.org");
  EXPECT_EQ(c->certificate_file, "/etc/le/fullchain.pem");
  EXPECT_EQ(c->key_file, "/etc/le/privkey.pem");
  EXPECT_EQ(c->websocket_path, "/ws/abc");
  EXPECT_EQ(c->ring_timeout, std::chrono::seconds(30));
  EXPECT_EQ(c->relay_public_host, "relay.example.org");
  EXPECT_TRUE(c->allow_loopback);
  EXPECT_EQ(c->max_connections_per_ip, 8);
  EXPECT_EQ(c->tls_handshake_timeout, std::chrono::milliseconds(2500));
  EXPECT_TRUE(ValidateServerConfig(*c).ok());
}

struct BadCase {
  const char* name;
  const char* toml;
  std::vector<const char*> expected;  // substrings of the error
};

class ServerConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ServerConfigErrorTest, NamesKeyAndLine) {
  auto c = ParseServerConfig(GetParam().toml, "parleyd.toml");
  ASSERT_FALSE(c.ok());
  for (const char* s : GetParam().expected) EXPECT_THAT(c.error().message, HasSubstr(s));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ServerConfigErrorTest,
    ::testing::Values(
        BadCase{"UnknownKey", "[listen]\nhost = \"::\"\nprot = 1\n",
                {"parleyd.toml:3:", "unknown key 'listen.prot'", "host, tcp_port, udp_port"}},
        BadCase{"UnknownTopLevel", "\n\ndatadir = \"x\"\n", {"parleyd.toml:3:", "unknown key 'datadir'", "[tls]"}},
        BadCase{"UnknownSection", "[www]\nport = 1\n", {"parleyd.toml:1:", "unknown key 'www'"}},
        BadCase{"WrongType", "[listen]\ntcp_port = \"443\"\n",
                {"parleyd.toml:2:", "listen.tcp_port must be an integer from 0 to 65535"}},
        BadCase{"OutOfRange", "[listen]\n\nudp_port = 70000\n", {"parleyd.toml:3:", "listen.udp_port"}},
        BadCase{"StringExpected", "data_dir = 5\n", {"parleyd.toml:1:", "data_dir must be a string"}},
        BadCase{"BoolExpected", "[relay]\nallow_loopback = 1\n", {"relay.allow_loopback must be true or false"}},
        BadCase{"SectionAsValue", "tls = 3\n", {"parleyd.toml:1:", "'tls' must be a section"}},
        BadCase{"Syntax", "[listen]\nhost = \n", {"parleyd.toml:2:", "not valid TOML"}},
        BadCase{"Duplicate", "log_level = \"info\"\nlog_level = \"debug\"\n", {"parleyd.toml:2:", "not valid TOML"}},
        BadCase{"ControlCharacter", "data_dir = \"a\\u0001b\"\n", {"data_dir must not contain control characters"}},
        BadCase{"TooSmall", "[limits]\ntls_handshake_timeout_ms = 5\n",
                {"limits.tls_handshake_timeout_ms must be an integer from 100"}},
        BadCase{"LoginTimeoutZero", "[limits]\nlogin_timeout_s = 0\n",
                {"limits.login_timeout_s must be an integer from 1"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ServerConfigTest, ExampleProductionConfigLoadsAndValidates) {
  auto c = LoadServerConfigFile(std::string(PARLEY_SOURCE_DIR) + "/docs/parleyd.example.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->tcp_port, 443);
  EXPECT_EQ(c->udp_port, 443);
  EXPECT_FALSE(c->certificate_file.empty());
  EXPECT_TRUE(ValidateServerConfig(*c).ok());
}

TEST(ServerConfigTest, MissingFileIsAClearError) {
  auto c = LoadServerConfigFile("/nonexistent/parleyd.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr("cannot read the config file /nonexistent/parleyd.toml"));
}

TEST(ServerConfigTest, OverridesWinAndAreChecked) {
  auto c = ParseServerConfig("[listen]\ntcp_port = 443\n", "p.toml");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(ApplyServerConfigOverride(*c, "listen.tcp_port", "9443").ok());
  ASSERT_TRUE(ApplyServerConfigOverride(*c, "data_dir", "/tmp/x").ok());
  ASSERT_TRUE(ApplyServerConfigOverride(*c, "relay.allow_loopback", "true").ok());
  ASSERT_TRUE(ApplyServerConfigOverride(*c, "signaling.ring_timeout_s", "12").ok());
  EXPECT_EQ(c->login_timeout, std::chrono::seconds(30));  // the default
  ASSERT_TRUE(ApplyServerConfigOverride(*c, "limits.login_timeout_s", "3").ok());
  EXPECT_EQ(c->login_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c->tcp_port, 9443);
  EXPECT_EQ(c->data_dir, "/tmp/x");
  EXPECT_TRUE(c->allow_loopback);
  EXPECT_EQ(c->ring_timeout, std::chrono::seconds(12));

  auto bad = ApplyServerConfigOverride(*c, "listen.tcp_port", "99999");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("listen.tcp_port"));
  EXPECT_THAT(bad.error().message, HasSubstr("from 0 to 65535"));
  EXPECT_FALSE(ApplyServerConfigOverride(*c, "listen.tcp_port", "12ab").ok());
  EXPECT_FALSE(ApplyServerConfigOverride(*c, "listen.tcp_port", "").ok());
  EXPECT_FALSE(ApplyServerConfigOverride(*c, "relay.allow_loopback", "yes").ok());
  auto unknown = ApplyServerConfigOverride(*c, "listen.prot", "1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("unknown setting 'listen.prot'"));
  EXPECT_EQ(c->tcp_port, 9443);  // failed overrides change nothing
}

TEST(ServerConfigTest, ValidateCrossFieldRules) {
  ServerConfig c;
  auto no_dir = ValidateServerConfig(c);
  ASSERT_FALSE(no_dir.ok());
  EXPECT_THAT(no_dir.error().message, HasSubstr("--data DIR"));
  c.data_dir = "/tmp/d";
  EXPECT_TRUE(ValidateServerConfig(c).ok());

  ServerConfig half = c;
  half.certificate_file = "/etc/cert.pem";
  EXPECT_THAT(ValidateServerConfig(half).error().message, HasSubstr("must be set together"));

  ServerConfig host = c;
  host.listen_host = "example.org";
  EXPECT_THAT(ValidateServerConfig(host).error().message, HasSubstr("not an IP address"));

  ServerConfig ws = c;
  ws.websocket_path = "ws";
  EXPECT_THAT(ValidateServerConfig(ws).error().message, HasSubstr("must start with /"));
  ws.websocket_path = "/about.html";
  EXPECT_THAT(ValidateServerConfig(ws).error().message, HasSubstr("a page of the decoy website"));
  ws.websocket_path = "/ws/a b";
  EXPECT_FALSE(ValidateServerConfig(ws).ok());
  ws.websocket_path = "/ws/Abc-_.~9";
  EXPECT_TRUE(ValidateServerConfig(ws).ok());

  ServerConfig caps = c;
  caps.max_connections = 10;
  caps.max_connections_per_ip = 11;
  EXPECT_THAT(ValidateServerConfig(caps).error().message, HasSubstr("max_connections_per_ip"));

  ServerConfig level = c;
  level.log_level = "verbose";
  EXPECT_THAT(ValidateServerConfig(level).error().message, HasSubstr("log_level 'verbose'"));

  ServerConfig name = c;
  name.server_name = "a,IP:1.2.3.4";
  EXPECT_THAT(ValidateServerConfig(name).error().message, HasSubstr("tls.server_name"));
}

TEST(ServerConfigTest, PrintReadsBackEqual) {
  ServerConfig c;
  c.data_dir = "/var/lib/parley \"d\" \\x";
  c.listen_host = "::";
  c.tcp_port = 443;
  c.udp_port = 0;
  c.server_name = "example.org";
  c.websocket_path = "/ws/xyz";
  c.allow_loopback = true;
  c.ring_timeout = std::chrono::seconds(7);
  c.tls_handshake_timeout = std::chrono::milliseconds(1234);
  c.max_message_bytes = 4096;
  const std::string text = PrintServerConfig(c);
  EXPECT_THAT(text, HasSubstr("[listen]\n"));
  EXPECT_THAT(text, HasSubstr("tcp_port = 443\n"));
  auto back = ParseServerConfig(text, "printed.toml");
  ASSERT_TRUE(back.ok()) << back.error().message << "\n" << text;
  EXPECT_EQ(*back, c);
  auto defaults = ParseServerConfig(PrintServerConfig(ServerConfig{}), "printed.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(*defaults, ServerConfig{});
}

TEST(ServerConfigTest, NodeIdAndBus) {
  auto c = ParseServerConfig("data_dir = \"/d\"\nbus = \"redis://127.0.0.1:7000\"\n[node]\nid = \"east-1\"\n", "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->bus_url, "redis://127.0.0.1:7000");
  EXPECT_EQ(c->node_id, "east-1");
  EXPECT_TRUE(ValidateServerConfig(*c).ok());
  ServerConfig bad = *c;
  bad.node_id = "east 1";
  EXPECT_THAT(ValidateServerConfig(bad).error().message, HasSubstr("node.id 'east 1'"));
  bad.node_id = std::string(65, 'a');
  EXPECT_FALSE(ValidateServerConfig(bad).ok());
  bad = *c;
  bad.bus_url = "127.0.0.1:6379";
  EXPECT_THAT(ValidateServerConfig(bad).error().message, HasSubstr("is not a redis:// URL"));
  // A relay record's id holds 64 bytes: a longer relay.id is refused at start, not
  // found by the codec's check at the first announce.
  bad = *c;
  bad.relay_id = std::string(64, 'r');
  EXPECT_TRUE(ValidateServerConfig(bad).ok());
  bad.relay_id = std::string(65, 'r');
  EXPECT_THAT(ValidateServerConfig(bad).error().message, HasSubstr("relay.id is 65 bytes long"));
}

}  // namespace
}  // namespace parley::server
