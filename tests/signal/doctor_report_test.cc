// DoctorFacts judged and written: verdicts, the preferred path (p2p > relay-udp >
// relay-tls among those that work), NAT facts, the exit code and both output forms.
#include "parley/signal/doctor_report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace parley::signal {
namespace {

RelayPathCheck Working(const std::string& name, double rtt_ms = 30) {
  RelayPathCheck c;
  c.name = name;
  c.tested = c.first_bound = c.second_bound = true;
  c.sent = c.answered = 6;
  c.median_rtt_ms = rtt_ms;
  return c;
}

RelayPathCheck Blocked(const std::string& name) {
  RelayPathCheck c;
  c.name = name;
  c.tested = true;
  c.sent = 0;
  return c;
}

DoctorFacts Facts(std::vector<RelayPathCheck> paths, std::string p2p = "contacts") {
  DoctorFacts f;
  f.signaling = {"parley.example.org:443", true, true, 120, ""};
  f.relay_paths = std::move(paths);
  f.p2p_setting = std::move(p2p);
  return f;
}

TEST(DoctorReportTest, Verdicts) {
  EXPECT_EQ(Judge(Working("relay-udp")), PathVerdict::kWorks);
  EXPECT_EQ(Judge(Working("relay-udp", 900)), PathVerdict::kSlow);
  RelayPathCheck lossy = Working("relay-udp");
  lossy.answered = 3;
  EXPECT_EQ(Judge(lossy), PathVerdict::kSlow);
  EXPECT_EQ(Judge(Blocked("relay-udp")), PathVerdict::kBlocked);
  RelayPathCheck untested;
  untested.name = "relay-tls";
  EXPECT_EQ(Judge(untested), PathVerdict::kNotTested);
}

TEST(DoctorReportTest, PreferenceOrder) {
  EXPECT_EQ(PreferredPath(Facts({Working("relay-udp"), Working("relay-tls")})), "p2p");
  EXPECT_EQ(PreferredPath(Facts({Working("relay-udp"), Working("relay-tls")}, "nobody")), "relay-udp");
  EXPECT_EQ(PreferredPath(Facts({Working("relay-udp", 900), Working("relay-tls")}, "nobody")), "relay-udp");
  EXPECT_EQ(PreferredPath(Facts({Blocked("relay-udp"), Working("relay-tls")})), "relay-tls");
  EXPECT_EQ(PreferredPath(Facts({Blocked("relay-udp"), Blocked("relay-tls")})), std::nullopt);
  EXPECT_EQ(DoctorExitCode(Facts({Blocked("relay-udp"), Blocked("relay-tls")})), 1);
  EXPECT_EQ(DoctorExitCode(Facts({Blocked("relay-udp"), Working("relay-tls")})), 0);
}

TEST(DoctorReportTest, TextSaysWhatWorksAndWhatCallsUse) {
  const std::string text = FormatDoctorText(Facts({Blocked("relay-udp"), Working("relay-tls", 42)}, "nobody"));
  EXPECT_NE(text.find("relay-udp   blocked: the relay never answered"), std::string::npos) << text;
  EXPECT_NE(text.find("relay-tls   works: 42 ms round trip, 0% loss (6 of 6 answered)"), std::string::npos) << text;
  EXPECT_NE(text.find("Calls will use: relay-tls"), std::string::npos) << text;
  EXPECT_NE(text.find("signaling   works"), std::string::npos) << text;

  DoctorFacts none = Facts({Blocked("relay-udp"), Blocked("relay-tls")});
  EXPECT_NE(FormatDoctorText(none).find("Calls will not work from this network: no media path"), std::string::npos);
  none.signaling = {"parley.example.org:443", false, false, 0, "cannot reach parley.example.org:443."};
  none.relay_paths.clear();
  const std::string down = FormatDoctorText(none);
  EXPECT_NE(down.find("signaling   does not work: cannot reach"), std::string::npos) << down;
  EXPECT_NE(down.find("the server cannot be reached"), std::string::npos) << down;
}

TEST(DoctorReportTest, NatFacts) {
  NatCheck nat;
  EXPECT_EQ(BehindNat(nat), std::nullopt);
  nat.local_addresses = {"192.168.1.20:0", "[2001:db8::7]:0"};
  nat.mapped = "203.0.113.9:40000";
  nat.local_port = 50000;
  EXPECT_EQ(BehindNat(nat), true);
  nat.mapped = "192.168.1.20:50000";
  EXPECT_EQ(BehindNat(nat), false);
  nat.mapped = "127.0.0.1:50000";
  EXPECT_EQ(BehindNat(nat), false);
  nat.mapped = "[2001:db8::7]:50000";
  EXPECT_EQ(BehindNat(nat), false);

  nat.mapped = "203.0.113.9:50000";
  EXPECT_EQ(PredictableMapping(nat), std::nullopt);
  nat.mapped_second = "203.0.113.9:50001";
  nat.local_port_second = 50001;
  EXPECT_EQ(PredictableMapping(nat), true);  // port preserved on both
  nat.mapped_second = "203.0.113.9:61234";
  EXPECT_EQ(PredictableMapping(nat), false);
}

TEST(DoctorReportTest, JsonCarriesTheSameFacts) {
  DoctorFacts f = Facts({Blocked("relay-udp"), Working("relay-tls", 42)});
  f.nat.mapped = "127.0.0.1:40000";
  const auto json = nlohmann::json::parse(FormatDoctorJson(f));
  EXPECT_EQ(json["calls_will_use"], "relay-tls");
  EXPECT_EQ(json["ok"], true);
  EXPECT_EQ(json["signaling"]["reachable"], true);
  ASSERT_EQ(json["paths"].size(), 2u);
  EXPECT_EQ(json["paths"][0]["name"], "relay-udp");
  EXPECT_EQ(json["paths"][0]["verdict"], "blocked");
  EXPECT_TRUE(json["paths"][0]["median_rtt_ms"].is_null());
  EXPECT_EQ(json["paths"][1]["verdict"], "works");
  EXPECT_EQ(json["paths"][1]["median_rtt_ms"], 42.0);
  EXPECT_EQ(json["nat"]["behind_nat"], false);
  EXPECT_EQ(json["p2p_setting"], "contacts");
}

}  // namespace
}  // namespace parley::signal
