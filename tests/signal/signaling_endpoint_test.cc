// Tests for the parser of what parleyd prints for users (--server and --pin): every
// accepted form, and a clear error for each way a pasted value goes wrong.
#include "parley/signal/signaling_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace parley::signal {
namespace {

using ::testing::HasSubstr;

const std::string kPin = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string Error(std::string_view server, std::string_view pin = {}) {
  auto parsed = ParseServerAddress(server, pin);
  return parsed.ok() ? "(parsed " + parsed->ToString() + ")" : parsed.error().message;
}

TEST(SignalingEndpointTest, ReadsWhatParleydPrints) {
  auto e = ParseServerAddress("chat.example.org:8443/ws/AbC-_0123456789xyzABC", kPin);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->host, "chat.example.org");
  EXPECT_EQ(e->port, 8443);
  EXPECT_EQ(e->path, "/ws/AbC-_0123456789xyzABC");
  EXPECT_EQ(e->pin_sha256, kPin);
  EXPECT_EQ(e->ToString(), "chat.example.org:8443/ws/AbC-_0123456789xyzABC");
  EXPECT_EQ(ParseServerAddress(e->ToString(), kPin).value(), *e);
}

TEST(SignalingEndpointTest, AcceptsTheOtherForms) {
  auto v6 = ParseServerAddress("wss://[::1]:9000/ws/x");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
  EXPECT_FALSE(v6->pin_sha256.has_value());
  EXPECT_EQ(v6->ToString(), "[::1]:9000/ws/x");

  auto no_port = ParseServerAddress("  WSS://example.org/ws/x  ");
  ASSERT_TRUE(no_port.ok()) << no_port.error().message;
  EXPECT_EQ(no_port->port, 443);

  // The pin after '#', with or without "sha256:", upper case, or with colons.
  std::string upper = kPin;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  std::string colons;
  for (size_t i = 0; i < upper.size(); i += 2) colons += (i ? ":" : "") + upper.substr(i, 2);
  for (const std::string& form : {"#" + kPin, "#sha256:" + kPin, "#SHA256:" + upper, "#" + colons}) {
    auto e = ParseServerAddress("127.0.0.1:8443/ws/p" + form);
    ASSERT_TRUE(e.ok()) << form << ": " << e.error().message;
    EXPECT_EQ(e->host, "127.0.0.1");
    EXPECT_EQ(e->path, "/ws/p");
    EXPECT_EQ(e->pin_sha256, kPin) << form;
  }
  EXPECT_EQ(ParsePin(colons).value(), kPin);
  EXPECT_TRUE(ParseServerAddress("h:1/ws/p#" + kPin, kPin).ok());  // the same pin twice is fine
}

TEST(SignalingEndpointTest, ClearErrors) {
  const std::string hint = ": copy the whole --server value parleyd printed (HOST:PORT/ws/...).";
  EXPECT_EQ(Error("example.org:8443"), "the server address 'example.org:8443' has no WebSocket path" + hint);
  EXPECT_EQ(Error("example.org:8443/"), "the server address 'example.org:8443/' has no WebSocket path" + hint);
  EXPECT_EQ(Error(""), "the server address is empty" + hint);
  EXPECT_EQ(Error("https://example.org/ws/x"),
            "the server address 'https://example.org/ws/x' names another protocol than wss" + hint);
  EXPECT_EQ(Error("example.org:0/ws/x"), "the server address 'example.org:0/ws/x' has a bad port (use 1 to 65535)" +
                                             hint);
  EXPECT_THAT(Error("example.org:65536/ws/x"), HasSubstr("has a bad port"));
  EXPECT_THAT(Error("example.org:84a3/ws/x"), HasSubstr("has a bad port"));
  EXPECT_THAT(Error("example.org:/ws/x"), HasSubstr("has a bad port"));
  EXPECT_EQ(Error("[::1:8443/ws/x"), "the server address '[::1:8443/ws/x' opens '[' without closing it" + hint);
  EXPECT_THAT(Error("[example.org]:8443/ws/x"), HasSubstr("has no IPv6 address inside [ ]"));
  EXPECT_THAT(Error(std::string("[::2\0x]:8443/ws/x", 17)), HasSubstr("has no IPv6 address inside [ ]"));
  EXPECT_THAT(Error("::1:8443/ws/x"), HasSubstr("does not start with a host name or IP address"));
  EXPECT_THAT(Error("exa_mple.org:1/ws/x"), HasSubstr("does not start with a host name or IP address"));
  EXPECT_THAT(Error("-a.org:1/ws/x"), HasSubstr("does not start with a host name or IP address"));
  EXPECT_THAT(Error("a..org:1/ws/x"), HasSubstr("does not start with a host name or IP address"));
  EXPECT_THAT(Error("a.org:1/ws/x y"), HasSubstr("has a character its WebSocket path cannot hold"));
  EXPECT_THAT(Error("a.org:1/ws/x?q=1"), HasSubstr("has a character its WebSocket path cannot hold"));
  EXPECT_THAT(Error("a.org:1/ws/%4"), HasSubstr("has a character its WebSocket path cannot hold"));
  EXPECT_TRUE(ParseServerAddress("a.org:1/ws/%41").ok());
  EXPECT_TRUE(ParseServerAddress("a.org:1/ws/x://y").ok());  // only a leading scheme is one
  EXPECT_THAT(Error("a.org:1/" + std::string(1100, 'p')), HasSubstr("has a path over 1024 characters"));
  // Control bytes never reach the message.
  EXPECT_EQ(Error("a\x1b[2J.org:1/ws/x"),
            "the server address 'a?[2J.org:1/ws/x' does not start with a host name or IP address" + hint);

  EXPECT_EQ(Error("a.org:1/ws/x", "abc"),
            "the certificate pin 'abc' is not a SHA-256 fingerprint (64 hex digits); copy the --pin value parleyd "
            "printed.");
  EXPECT_THAT(Error("a.org:1/ws/x", kPin + "0"), HasSubstr("is not a SHA-256 fingerprint"));
  EXPECT_THAT(Error("a.org:1/ws/x", "g" + kPin.substr(1)), HasSubstr("is not a SHA-256 fingerprint"));
  EXPECT_THAT(Error("a.org:1/ws/x#"), HasSubstr("is not a SHA-256 fingerprint"));
  std::string other = kPin;
  other[0] = 'f';
  EXPECT_EQ(Error("a.org:1/ws/x#" + kPin, other),
            "the server address and --pin name two different certificate pins; give one.");
}

}  // namespace
}  // namespace parley::signal
