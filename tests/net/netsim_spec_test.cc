// Tests for the network spec syntax: every key, unit and error, round trips, presets.
#include "parley/net/netsim_spec.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace parley::net {
namespace {

using std::chrono::nanoseconds;

struct GoodCase {
  const char* name;
  const char* text;
  std::function<void(NetsimSpec&)> expect;  // turns a default spec into the expected one
};

void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.text; }

NetsimSpec Expected(const GoodCase& c) {
  NetsimSpec spec;
  c.expect(spec);
  return spec;
}

NetsimQueueLimit Packets(int64_t n) {
  NetsimQueueLimit q;
  q.unit = NetsimQueueLimit::Unit::kPackets;
  q.time = Duration{0};
  q.packets = n;
  return q;
}

NetsimQueueLimit Bytes(int64_t n) {
  NetsimQueueLimit q;
  q.unit = NetsimQueueLimit::Unit::kBytes;
  q.time = Duration{0};
  q.bytes = n;
  return q;
}

const GoodCase kGoodCases[] = {
    {"Empty", "", [](NetsimSpec&) {}},
    {"Blank", "  ", [](NetsimSpec&) {}},
    {"DelayMs", "delay=40ms", [](NetsimSpec& s) { s.initial.delay = milliseconds(40); }},
    {"DelaySeconds", "delay=1.5s", [](NetsimSpec& s) { s.initial.delay = milliseconds(1500); }},
    {"DelayMicros", "delay=250us", [](NetsimSpec& s) { s.initial.delay = microseconds(250); }},
    {"DelayNanos", "delay=7ns", [](NetsimSpec& s) { s.initial.delay = nanoseconds(7); }},
    {"DelayFraction", "delay=0.5ms", [](NetsimSpec& s) { s.initial.delay = microseconds(500); }},
    {"DelayBareZero", "delay=0", [](NetsimSpec&) {}},
    {"DelayTrailingDot", "delay=40.ms", [](NetsimSpec& s) { s.initial.delay = milliseconds(40); }},
    {"Jitter", "jitter=30ms", [](NetsimSpec& s) { s.initial.jitter = milliseconds(30); }},
    {"Loss", "loss=5%", [](NetsimSpec& s) { s.initial.loss_percent = 5; }},
    {"LossFraction", "loss=0.5%", [](NetsimSpec& s) { s.initial.loss_percent = 0.5; }},
    {"LossAll", "loss=100%", [](NetsimSpec& s) { s.initial.loss_percent = 100; }},
    {"Burst", "loss=5%,burst=3",
     [](NetsimSpec& s) {
       s.initial.loss_percent = 5;
       s.initial.burst_packets = 3;
     }},
    {"BurstFraction", "burst=2.5", [](NetsimSpec& s) { s.initial.burst_packets = 2.5; }},
    {"BurstOff", "burst=off", [](NetsimSpec&) {}},
    {"BurstAtLimit", "loss=80%,burst=4",
     [](NetsimSpec& s) {
       s.initial.loss_percent = 80;
       s.initial.burst_packets = 4;
     }},
    {"Reorder", "reorder=5%", [](NetsimSpec& s) { s.initial.reorder_percent = 5; }},
    {"Dup", "dup=1%", [](NetsimSpec& s) { s.initial.dup_percent = 1; }},
    {"FifoOn", "fifo=on", [](NetsimSpec& s) { s.initial.fifo = true; }},
    {"FifoTrue", "fifo=true", [](NetsimSpec& s) { s.initial.fifo = true; }},
    {"FifoYes", "fifo=yes", [](NetsimSpec& s) { s.initial.fifo = true; }},
    {"FifoOff", "fifo=off", [](NetsimSpec&) {}},
    {"FifoFalse", "fifo=false", [](NetsimSpec&) {}},
    {"FifoNo", "fifo=no", [](NetsimSpec&) {}},
    {"RateBit", "rate=800bit", [](NetsimSpec& s) { s.initial.rate_bps = 800; }},
    {"RateKbit", "rate=32kbit", [](NetsimSpec& s) { s.initial.rate_bps = 32000; }},
    {"RateMbit", "rate=1.5mbit", [](NetsimSpec& s) { s.initial.rate_bps = 1500000; }},
    {"RateGbit", "rate=1gbit", [](NetsimSpec& s) { s.initial.rate_bps = 1000000000; }},
    {"RateOff", "rate=off", [](NetsimSpec&) {}},
    {"QueueTime", "queue=500ms", [](NetsimSpec& s) { s.initial.queue.time = milliseconds(500); }},
    {"QueueSeconds", "queue=1s", [](NetsimSpec& s) { s.initial.queue.time = seconds(1); }},
    {"QueuePackets", "queue=50pkt", [](NetsimSpec& s) { s.initial.queue = Packets(50); }},
    {"QueueBytes", "queue=8000byte", [](NetsimSpec& s) { s.initial.queue = Bytes(8000); }},
    {"Outage", "outage=10s+500ms",
     [](NetsimSpec& s) { s.outages.push_back({seconds(10), milliseconds(500)}); }},
    {"TwoOutages", "outage=1s+1s,outage=5s+20ms",
     [](NetsimSpec& s) {
       s.outages.push_back({seconds(1), seconds(1)});
       s.outages.push_back({seconds(5), milliseconds(20)});
     }},
    {"OutageAtZero", "outage=0+1s", [](NetsimSpec& s) { s.outages.push_back({Duration{0}, seconds(1)}); }},
    {"Step", "delay=40ms,jitter=10ms;at=10s:delay=100ms,loss=2%",
     [](NetsimSpec& s) {
       s.initial.delay = milliseconds(40);
       s.initial.jitter = milliseconds(10);
       NetsimConditions later = s.initial;  // jitter carries over
       later.delay = milliseconds(100);
       later.loss_percent = 2;
       s.steps.push_back({seconds(10), later});
     }},
    {"TwoSteps", "loss=1%;at=1s:loss=2%;at=2s:rate=64kbit",
     [](NetsimSpec& s) {
       s.initial.loss_percent = 1;
       NetsimConditions one = s.initial;
       one.loss_percent = 2;
       NetsimConditions two = one;
       two.rate_bps = 64000;
       s.steps.push_back({seconds(1), one});
       s.steps.push_back({seconds(2), two});
     }},
    {"StepOnly", "at=1s:loss=5%",
     [](NetsimSpec& s) {
       NetsimConditions c;
       c.loss_percent = 5;
       s.steps.push_back({seconds(1), c});
     }},
    {"StepTurnsThingsOff", "loss=5%,burst=3,rate=32kbit;at=1s:burst=off,rate=off",
     [](NetsimSpec& s) {
       s.initial.loss_percent = 5;
       s.initial.burst_packets = 3;
       s.initial.rate_bps = 32000;
       NetsimConditions c;
       c.loss_percent = 5;
       s.steps.push_back({seconds(1), c});
     }},
    {"Whitespace", " delay = 40ms , loss = 5% ; at = 10s : delay = 100ms ",
     [](NetsimSpec& s) {
       s.initial.delay = milliseconds(40);
       s.initial.loss_percent = 5;
       NetsimConditions c = s.initial;
       c.delay = milliseconds(100);
       s.steps.push_back({seconds(10), c});
     }},
    {"Everything",
     "delay=40ms,jitter=15ms,loss=5%,burst=3,reorder=2%,dup=1%,fifo=on,rate=32kbit,"
     "queue=20pkt,outage=10s+500ms",
     [](NetsimSpec& s) {
       s.initial.delay = milliseconds(40);
       s.initial.jitter = milliseconds(15);
       s.initial.loss_percent = 5;
       s.initial.burst_packets = 3;
       s.initial.reorder_percent = 2;
       s.initial.dup_percent = 1;
       s.initial.fifo = true;
       s.initial.rate_bps = 32000;
       s.initial.queue = Packets(20);
       s.outages.push_back({seconds(10), milliseconds(500)});
     }},
};

class NetsimSpecGoodTest : public testing::TestWithParam<GoodCase> {};

TEST_P(NetsimSpecGoodTest, ParsesToExpectedSpec) {
  auto spec = ParseNetsimSpec(GetParam().text);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(*spec, Expected(GetParam()));
}

TEST_P(NetsimSpecGoodTest, DescribeRoundTrips) {
  auto spec = ParseNetsimSpec(GetParam().text);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  std::string text = DescribeNetsimSpec(*spec);
  auto again = ParseNetsimSpec(text);
  ASSERT_TRUE(again.ok()) << text << ": " << again.error().message;
  EXPECT_EQ(*again, *spec) << text;
  EXPECT_EQ(DescribeNetsimSpec(*again), text);
}

INSTANTIATE_TEST_SUITE_P(AllKeysAndUnits, NetsimSpecGoodTest, testing::ValuesIn(kGoodCases),
                         [](const auto& info) { return std::string(info.param.name); });

struct BadCase {
  const char* name;
  const char* text;
  std::vector<std::string> message_parts;  // each must appear in the error
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.text; }

const BadCase kBadCases[] = {
    {"UnknownKey", "delay=40ms,jiter=5ms",
     {"unknown key \"jiter\"", "known keys: delay, jitter, loss, burst, reorder, dup, fifo, "
                               "rate, queue, outage"}},
    {"TimeWithoutUnit", "delay=40", {"bad time \"40\" for delay", "s, ms, us or ns", "40ms"}},
    {"TimeUnknownUnit", "delay=40min", {"bad time \"40min\" for delay"}},
    {"TimeSpaceBeforeUnit", "delay=40 ms", {"bad time \"40 ms\" for delay"}},
    {"TimeNegative", "delay=-5ms", {"bad time \"-5ms\" for delay"}},
    {"TimeExponent", "jitter=1e3ms", {"bad time \"1e3ms\" for jitter"}},
    {"TimeTwoDots", "jitter=1.2.3ms", {"bad time \"1.2.3ms\" for jitter"}},
    {"TimeOnlyDot", "jitter=.ms", {"bad time \".ms\" for jitter"}},
    {"TimeEmpty", "delay=", {"bad time \"\" for delay"}},
    {"TimeTooLong", "delay=90000s", {"bad time \"90000s\" for delay", "at most 86400s"}},
    {"TimeInf", "delay=infms", {"bad time \"infms\" for delay"}},
    {"PercentWithoutSign", "loss=5", {"bad percentage \"5\" for loss", "0 to 100", "5%"}},
    {"PercentOver100", "loss=101%", {"bad percentage \"101%\" for loss"}},
    {"PercentDouble", "reorder=5%%", {"bad percentage \"5%%\" for reorder"}},
    {"PercentWord", "dup=x%", {"bad percentage \"x%\" for dup"}},
    {"BurstBelowOne", "burst=0.5", {"bad burst length \"0.5\" for burst", "or off"}},
    {"BurstZero", "burst=0", {"bad burst length \"0\" for burst"}},
    {"BurstWithUnit", "burst=3pkt", {"bad burst length \"3pkt\" for burst"}},
    {"BurstTooShortForLoss", "loss=80%,burst=2",
     {"burst=2 is too short for loss=80% at the start", "at least 4 packets"}},
    {"BurstTooShortInStep", "loss=10%,burst=2;at=10s:loss=70%",
     {"burst=2 is too short for loss=70% at 10s", "at least 2.34 packets"}},
    {"FifoWord", "fifo=maybe", {"bad switch \"maybe\" for fifo", "on or off"}},
    {"RateNoUnit", "rate=32000", {"bad rate \"32000\" for rate", "bit, kbit, mbit or gbit"}},
    {"RateShortUnit", "rate=32k", {"bad rate \"32k\" for rate"}},
    {"RateZero", "rate=0bit", {"bad rate \"0bit\" for rate", "at least 1bit"}},
    {"RateRoundsToZero", "rate=0.1bit", {"bad rate \"0.1bit\" for rate"}},
    {"RateTooHigh", "rate=200gbit", {"bad rate \"200gbit\" for rate"}},
    {"QueueNoUnit", "queue=50", {"bad queue limit \"50\" for queue", "50pkt", "8000byte", "200ms"}},
    {"QueueZeroPackets", "queue=0pkt", {"bad queue limit \"0pkt\" for queue"}},
    {"QueueFractionPackets", "queue=1.5pkt", {"bad queue limit \"1.5pkt\" for queue"}},
    {"QueueZeroTime", "queue=0ms", {"bad queue limit \"0ms\" for queue"}},
    {"QueueBadUnit", "queue=5kb", {"bad queue limit \"5kb\" for queue"}},
    {"OutageNoLength", "outage=10s", {"bad outage \"10s\" for outage", "10s+500ms"}},
    {"OutageZeroLength", "outage=10s+0ms", {"bad outage \"10s+0ms\" for outage"}},
    {"OutageBadStart", "outage=x+1s", {"bad outage \"x+1s\" for outage"}},
    {"DuplicateKey", "delay=40ms,delay=50ms", {"key \"delay\" given twice"}},
    {"NotKeyValue", "delay40ms", {"setting \"delay40ms\"", "not key=value", "known keys"}},
    {"EmptySetting", "delay=40ms,,loss=5%", {"empty setting", "separated by ','"}},
    {"TrailingComma", "delay=40ms,", {"empty setting"}},
    {"EmptySection", "delay=40ms;", {"empty section", "at=10s:delay=100ms"}},
    {"SectionWithoutAt", "delay=40ms;loss=5%",
     {"section \"loss=5%\" after ';'", "must start with at=TIME:"}},
    {"StepWithoutColon", "delay=40ms;at=10s", {"step \"at=10s\"", "needs ':'"}},
    {"StepEmpty", "delay=40ms;at=10s:", {"empty setting"}},
    {"StepBadTime", "delay=40ms;at=soon:delay=1ms", {"bad time \"soon\" for at"}},
    {"StepAtZero", "at=0s:delay=1ms", {"step at=0s", "must come after time 0"}},
    {"StepsOutOfOrder", "at=2s:delay=1ms;at=1s:delay=2ms",
     {"step at=1s", "must come after the step before it (at=2s)"}},
    {"StepsSameTime", "at=2s:delay=1ms;at=2000ms:delay=2ms", {"step at=2000ms"}},
    {"OutageInStep", "delay=40ms;at=1s:outage=1s+1s", {"inside a step", "first section"}},
    {"AtInsideSettings", "delay=40ms,at=1s:loss=1%",
     {"at=1s:loss=1% must start a section after ';'"}},
    {"StepUnknownKey", "delay=40ms;at=1s:lost=1%", {"unknown key \"lost\""}},
};

class NetsimSpecBadTest : public testing::TestWithParam<BadCase> {};

TEST_P(NetsimSpecBadTest, ErrorNamesTheProblem) {
  auto spec = ParseNetsimSpec(GetParam().text);
  ASSERT_FALSE(spec.ok()) << DescribeNetsimSpec(*spec);
  for (const auto& part : GetParam().message_parts) {
    EXPECT_NE(spec.error().message.find(part), std::string::npos)
        << "message: " << spec.error().message << "\nmissing: " << part;
  }
}

INSTANTIATE_TEST_SUITE_P(AllErrors, NetsimSpecBadTest, testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(NetsimSpecTest, DescribeIsCanonical) {
  auto spec = ParseNetsimSpec(
      "outage=1s+20ms,rate=1500kbit,delay=0.04s,queue=10pkt;at=10000ms:delay=40ms,jitter=1.5ms");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  // The step changes only jitter (delay is unchanged), so only jitter is written.
  EXPECT_EQ(DescribeNetsimSpec(*spec),
            "delay=40ms,rate=1500kbit,queue=10pkt,outage=1s+20ms;at=10s:jitter=1500us");
}

TEST(NetsimSpecTest, DescribeKeepsStepsThatChangeNothing) {
  auto spec = ParseNetsimSpec("delay=40ms;at=5s:delay=40ms");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  ASSERT_EQ(spec->steps.size(), 1u);
  EXPECT_EQ(DescribeNetsimSpec(*spec), "delay=40ms;at=5s:delay=40ms");
}

TEST(NetsimSpecTest, DescribeRoundTripsAwkwardNumbers) {
  auto spec = ParseNetsimSpec(
      "delay=0.000000001s,loss=33.333333333333336%,burst=1.0000000000000002,"
      "dup=0.1%,rate=12345bit,queue=123456789ns");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  auto again = ParseNetsimSpec(DescribeNetsimSpec(*spec));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *spec) << DescribeNetsimSpec(*spec);
}

TEST(NetsimSpecTest, ConditionsAtFollowsSteps) {
  auto spec = ParseNetsimSpec("delay=40ms;at=1s:delay=50ms;at=2s:delay=60ms");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->ConditionsAt(Duration{0}).delay, milliseconds(40));
  EXPECT_EQ(spec->ConditionsAt(milliseconds(999)).delay, milliseconds(40));
  EXPECT_EQ(spec->ConditionsAt(seconds(1)).delay, milliseconds(50));
  EXPECT_EQ(spec->ConditionsAt(milliseconds(1999)).delay, milliseconds(50));
  EXPECT_EQ(spec->ConditionsAt(seconds(2)).delay, milliseconds(60));
  EXPECT_EQ(spec->ConditionsAt(seconds(100)).delay, milliseconds(60));
}

TEST(NetsimSpecTest, InOutageIsHalfOpen) {
  auto spec = ParseNetsimSpec("outage=10s+500ms");
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(spec->InOutage(seconds(10) - Duration{1}));
  EXPECT_TRUE(spec->InOutage(seconds(10)));
  EXPECT_TRUE(spec->InOutage(milliseconds(10500) - Duration{1}));
  EXPECT_FALSE(spec->InOutage(milliseconds(10500)));
}

TEST(NetsimPresetTest, EveryPresetParsesAndDescribesAsItsOwnSpec) {
  auto presets = NetsimPresets();
  ASSERT_GE(presets.size(), 7u);
  for (const auto& p : presets) {
    SCOPED_TRACE(p.name);
    EXPECT_FALSE(p.description.empty());
    EXPECT_EQ(p.description.find('\n'), std::string::npos);
    auto spec = NetsimPreset(p.name);
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    EXPECT_EQ(DescribeNetsimSpec(*spec), p.spec);
    auto by_either = ParseNetsimSpecOrPreset(p.name);
    ASSERT_TRUE(by_either.ok());
    EXPECT_EQ(*by_either, *spec);
  }
}

NetsimConditions PresetInitial(const char* name) {
  auto spec = NetsimPreset(name);
  PARLEY_CHECK(spec.ok());
  return spec->initial;
}

TEST(NetsimPresetTest, PresetsHaveTheDescribedConditions) {
  NetsimConditions clean = PresetInitial("clean");
  EXPECT_EQ(clean, [] {
    NetsimConditions c;
    c.delay = milliseconds(40);
    return c;
  }());

  NetsimConditions jitter30 = PresetInitial("jitter30");
  EXPECT_EQ(jitter30.delay, milliseconds(40));
  EXPECT_EQ(jitter30.jitter, milliseconds(10));  // 95% of packets within 30 ms
  EXPECT_EQ(jitter30.loss_percent, 0);

  NetsimConditions loss10 = PresetInitial("loss10");
  EXPECT_EQ(loss10.delay, milliseconds(40));
  EXPECT_EQ(loss10.loss_percent, 10);
  EXPECT_EQ(loss10.burst_packets, 0);

  NetsimConditions loss20 = PresetInitial("loss20");
  EXPECT_EQ(loss20.loss_percent, 20);
  EXPECT_EQ(loss20.burst_packets, 0);

  NetsimConditions burst5 = PresetInitial("burst5");
  EXPECT_EQ(burst5.delay, milliseconds(40));
  EXPECT_EQ(burst5.loss_percent, 5);
  EXPECT_EQ(burst5.burst_packets, 3);

  auto handover = NetsimPreset("handover");
  ASSERT_TRUE(handover.ok());
  EXPECT_EQ(handover->initial.delay, milliseconds(40));
  ASSERT_EQ(handover->outages.size(), 1u);
  EXPECT_EQ(handover->outages[0], (NetsimOutage{seconds(10), milliseconds(500)}));
  ASSERT_EQ(handover->steps.size(), 1u);
  EXPECT_EQ(handover->steps[0].at, milliseconds(10500));
  EXPECT_EQ(handover->steps[0].conditions.delay, milliseconds(100));

  NetsimConditions edge = PresetInitial("edge");
  EXPECT_EQ(edge.rate_bps, 32000);
  EXPECT_EQ(edge.delay, milliseconds(300));
  EXPECT_EQ(edge.queue, NetsimQueueLimit{});  // the default: 200 ms of queue

  NetsimConditions mobile = PresetInitial("mobile");
  EXPECT_GT(mobile.jitter, Duration{0});
  EXPECT_GT(mobile.burst_packets, 1);
}

TEST(NetsimPresetTest, UnknownPresetListsTheKnownOnes) {
  auto spec = NetsimPreset("lossy");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().message.find("unknown network preset \"lossy\""), std::string::npos);
  EXPECT_NE(spec.error().message.find("known presets: clean, jitter30, loss10, loss20, burst5, "
                                      "handover, edge"),
            std::string::npos)
      << spec.error().message;
  auto either = ParseNetsimSpecOrPreset("lossy");
  ASSERT_FALSE(either.ok());
  EXPECT_EQ(either.error().message, spec.error().message);
}

TEST(NetsimPresetTest, SpecOrPresetTakesSpecs) {
  auto spec = ParseNetsimSpecOrPreset("delay=10ms");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->initial.delay, milliseconds(10));
  auto bad = ParseNetsimSpecOrPreset("delay=10");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bad time"), std::string::npos);
  auto trimmed = ParseNetsimSpecOrPreset(" loss10 ");
  ASSERT_TRUE(trimmed.ok());
  EXPECT_EQ(trimmed->initial.loss_percent, 10);
}

}  // namespace
}  // namespace parley::net

namespace parley::net {
namespace {

TEST(NetsimSpecLastChangeTest, IsTheLaterOfStepsAndOutageEnds) {
  auto spec = ParseNetsimSpec("delay=40ms,outage=10s+500ms;at=4s:delay=100ms");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  ASSERT_TRUE(spec->LastChange().has_value());
  EXPECT_EQ(*spec->LastChange(), milliseconds(10500));
  auto steady = ParseNetsimSpec("delay=40ms,jitter=5ms");
  ASSERT_TRUE(steady.ok());
  EXPECT_FALSE(steady->LastChange().has_value());
}

}  // namespace
}  // namespace parley::net
