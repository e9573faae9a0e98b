// Parsing, describing and presets of network simulator specs (syntax in netsim_spec.h).
#include "parley/net/netsim_spec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <utility>

namespace parley::net {
namespace {

constexpr double kMaxTimeNs = 86400e9;       // a day: longer makes no sense for a call
constexpr double kMaxRateBps = 100e9;
constexpr double kMaxBurstPackets = 1e6;
constexpr double kMaxQueuePackets = 1e9;
constexpr double kMaxQueueBytes = 1e12;

constexpr std::string_view kKnownKeys =
    "delay, jitter, loss, burst, reorder, dup, fifo, rate, queue, outage "
    "(and at=TIME: to start a step after ';')";

std::string_view Trim(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t begin = 0;
  while (true) {
    size_t end = s.find(sep, begin);
    if (end == std::string_view::npos) {
      parts.push_back(s.substr(begin));
      return parts;
    }
    parts.push_back(s.substr(begin, end - begin));
    begin = end + 1;
  }
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Digits with at most one '.', at least one digit. Correctly rounded (from_chars).
std::optional<double> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 40) return std::nullopt;
  int digits = 0, dots = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c == '.') {
      ++dots;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0 || dots > 1) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// Splits "40ms" into "40" and "ms".
std::pair<std::string_view, std::string_view> SplitNumber(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  return {s.substr(0, i), s.substr(i)};
}

std::string FormatNumber(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  PARLEY_CHECK(ec == std::errc());
  return std::string(buf, ptr);
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

std::string FormatRate(int64_t bps) {
  if (bps == 0) return "off";
  if (bps % 1'000'000'000 == 0) return std::to_string(bps / 1'000'000'000) + "gbit";
  if (bps % 1'000'000 == 0) return std::to_string(bps / 1'000'000) + "mbit";
  if (bps % 1'000 == 0) return std::to_string(bps / 1'000) + "kbit";
  return std::to_string(bps) + "bit";
}

std::string FormatQueue(const NetsimQueueLimit& q) {
  switch (q.unit) {
    case NetsimQueueLimit::Unit::kTime: return FormatDuration(q.time);
    case NetsimQueueLimit::Unit::kPackets: return std::to_string(q.packets) + "pkt";
    case NetsimQueueLimit::Unit::kBytes: return std::to_string(q.bytes) + "byte";
  }
  PARLEY_CHECK(false);
  return "";
}

std::optional<Duration> ParseTime(std::string_view s) {
  if (s == "0") return Duration{0};
  auto [number, unit] = SplitNumber(s);
  auto value = ParseDecimal(number);
  if (!value) return std::nullopt;
  double scale = 0;
  if (unit == "s") {
    scale = 1e9;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "ns") {
    scale = 1;
  } else {
    return std::nullopt;
  }
  double ns = *value * scale;
  if (ns > kMaxTimeNs) return std::nullopt;
  return Duration{std::llround(ns)};
}

Error BadTime(std::string_view key, std::string_view value) {
  return Error{"bad time " + Quote(value) + " for " + std::string(key) +
               " in network spec: give a number with a unit s, ms, us or ns, e.g. 40ms "
               "(at most 86400s)"};
}

Result<Duration> ParseTimeFor(std::string_view key, std::string_view value) {
  auto t = ParseTime(value);
  if (!t) return BadTime(key, value);
  return *t;
}

Result<double> ParsePercentFor(std::string_view key, std::string_view value) {
  auto [number, unit] = SplitNumber(value);
  auto v = ParseDecimal(number);
  if (!v || unit != "%" || *v > 100) {
    return Error{"bad percentage " + Quote(value) + " for " + std::string(key) +
                 " in network spec: give a number from 0 to 100 followed by %, e.g. 5%"};
  }
  return *v;
}

Result<int64_t> ParseRateFor(std::string_view key, std::string_view value) {
  if (value == "off") return int64_t{0};
  auto [number, unit] = SplitNumber(value);
  auto v = ParseDecimal(number);
  double scale = 0;
  if (unit == "bit") {
    scale = 1;
  } else if (unit == "kbit") {
    scale = 1e3;
  } else if (unit == "mbit") {
    scale = 1e6;
  } else if (unit == "gbit") {
    scale = 1e9;
  }
  double bps = v ? *v * scale : 0;
  if (!v || scale == 0 || bps > kMaxRateBps || std::llround(bps) < 1) {
    return Error{"bad rate " + Quote(value) + " for " + std::string(key) +
                 " in network spec: give a number with a unit bit, kbit, mbit or gbit "
                 "(per second, at least 1bit, at most 100gbit), e.g. 32kbit, or off"};
  }
  return static_cast<int64_t>(std::llround(bps));
}

Result<NetsimQueueLimit> ParseQueueFor(std::string_view key, std::string_view value) {
  NetsimQueueLimit q;
  auto [number, unit] = SplitNumber(value);
  auto v = ParseDecimal(number);
  bool whole = v && std::floor(*v) == *v;
  if (unit == "pkt" && whole && *v >= 1 && *v <= kMaxQueuePackets) {
    q.unit = NetsimQueueLimit::Unit::kPackets;
    q.time = Duration{0};
    q.packets = static_cast<int64_t>(*v);
    return q;
  }
  if (unit == "byte" && whole && *v >= 1 && *v <= kMaxQueueBytes) {
    q.unit = NetsimQueueLimit::Unit::kBytes;
    q.time = Duration{0};
    q.bytes = static_cast<int64_t>(*v);
    return q;
  }
  if (unit != "pkt" && unit != "byte") {
    auto t = ParseTime(value);
    if (t && t->count() > 0) {
      q.time = *t;
      return q;
    }
  }
  return Error{"bad queue limit " + Quote(value) + " for " + std::string(key) +
               " in network spec: give a time the queue may hold (e.g. 200ms), a whole "
               "number of packets (e.g. 50pkt) or of bytes (e.g. 8000byte), at least 1"};
}

Result<bool> ParseOnOffFor(std::string_view key, std::string_view value) {
  if (value == "on" || value == "true" || value == "yes") return true;
  if (value == "off" || value == "false" || value == "no") return false;
  return Error{"bad switch " + Quote(value) + " for " + std::string(key) +
               " in network spec: give on or off"};
}

Result<double> ParseBurstFor(std::string_view key, std::string_view value) {
  if (value == "off") return 0.0;
  auto v = ParseDecimal(value);
  if (!v || *v < 1 || *v > kMaxBurstPackets) {
    return Error{"bad burst length " + Quote(value) + " for " + std::string(key) +
                 " in network spec: give the mean number of packets lost in a row, "
                 "from 1 to 1000000 (e.g. 3), or off"};
  }
  return *v;
}

Result<NetsimOutage> ParseOutageFor(std::string_view key, std::string_view value) {
  auto plus = value.find('+');
  std::optional<Duration> start, length;
  if (plus != std::string_view::npos) {
    start = ParseTime(Trim(value.substr(0, plus)));
    length = ParseTime(Trim(value.substr(plus + 1)));
  }
  if (!start || !length || length->count() <= 0) {
    return Error{"bad outage " + Quote(value) + " for " + std::string(key) +
                 " in network spec: give START+LENGTH as times, e.g. 10s+500ms "
                 "(LENGTH above 0)"};
  }
  return NetsimOutage{*start, *length};
}

// Checks combinations that each key alone cannot.
Status Validate(const NetsimConditions& c, std::string_view where) {
  double loss = c.loss_percent / 100;
  if (c.burst_packets > 0 && loss < 1) {
    double min_burst = loss / (1 - loss);
    // The tolerance forgives rounding (0.8 / 0.2 is 4.000000000000001 in doubles).
    if (c.burst_packets < min_burst * (1 - 1e-9)) {
      return Error{"burst=" + FormatNumber(c.burst_packets) + " is too short for loss=" +
                   FormatNumber(c.loss_percent) + "% " + std::string(where) +
                   " in network spec: with that average loss the mean burst is at least " +
                   FormatNumber(std::ceil(min_burst * 100 - 1e-6) / 100) + " packets"};
    }
  }
  return Ok{};
}

// Applies "key=value,key=value" to `c`; outages go to `outages` (null: not allowed here).
Status ApplySettings(std::string_view text, NetsimConditions& c,
                     std::vector<NetsimOutage>* outages) {
  std::set<std::string, std::less<>> seen;
  for (std::string_view raw : Split(text, ',')) {
    std::string_view item = Trim(raw);
    if (item.empty()) {
      return Error{"empty setting in network spec near " + Quote(Trim(text)) +
                   ": settings are key=value separated by ','"};
    }
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Error{"setting " + Quote(item) +
                   " in network spec is not key=value (e.g. delay=40ms); known keys: " +
                   std::string(kKnownKeys)};
    }
    std::string_view key = Trim(item.substr(0, eq));
    std::string_view value = Trim(item.substr(eq + 1));
    if (key != "outage" && !seen.insert(std::string(key)).second) {
      return Error{"key " + Quote(key) + " given twice in one section of network spec"};
    }
    if (key == "delay") {
      auto v = ParseTimeFor(key, value);
      if (!v) return v.error();
      c.delay = *v;
    } else if (key == "jitter") {
      auto v = ParseTimeFor(key, value);
      if (!v) return v.error();
      c.jitter = *v;
    } else if (key == "loss") {
      auto v = ParsePercentFor(key, value);
      if (!v) return v.error();
      c.loss_percent = *v;
    } else if (key == "burst") {
      auto v = ParseBurstFor(key, value);
      if (!v) return v.error();
      c.burst_packets = *v;
    } else if (key == "reorder") {
      auto v = ParsePercentFor(key, value);
      if (!v) return v.error();
      c.reorder_percent = *v;
    } else if (key == "dup") {
      auto v = ParsePercentFor(key, value);
      if (!v) return v.error();
      c.dup_percent = *v;
    } else if (key == "fifo") {
      auto v = ParseOnOffFor(key, value);
      if (!v) return v.error();
      c.fifo = *v;
    } else if (key == "rate") {
      auto v = ParseRateFor(key, value);
      if (!v) return v.error();
      c.rate_bps = *v;
    } else if (key == "queue") {
      auto v = ParseQueueFor(key, value);
      if (!v) return v.error();
      c.queue = *v;
    } else if (key == "outage") {
      if (outages == nullptr) {
        return Error{"outage=" + std::string(value) +
                     " inside a step of network spec: put outages in the first section, "
                     "their start is counted from time 0 anyway"};
      }
      auto v = ParseOutageFor(key, value);
      if (!v) return v.error();
      outages->push_back(*v);
    } else if (key == "at") {
      return Error{"at=" + std::string(value) +
                   " must start a section after ';' in network spec, e.g. "
                   "delay=40ms;at=10s:delay=100ms"};
    } else {
      return Error{"unknown key " + Quote(key) + " in network spec; known keys: " +
                   std::string(kKnownKeys)};
    }
  }
  return Ok{};
}

// Keys whose value differs between `from` and `to`, as "key=value" text.
std::vector<std::string> Differences(const NetsimConditions& from, const NetsimConditions& to) {
  std::vector<std::string> out;
  if (from.delay != to.delay) out.push_back("delay=" + FormatDuration(to.delay));
  if (from.jitter != to.jitter) out.push_back("jitter=" + FormatDuration(to.jitter));
  if (from.loss_percent != to.loss_percent) {
    out.push_back("loss=" + FormatNumber(to.loss_percent) + "%");
  }
  if (from.burst_packets != to.burst_packets) {
    out.push_back("burst=" + (to.burst_packets == 0 ? std::string("off")
                                                     : FormatNumber(to.burst_packets)));
  }
  if (from.reorder_percent != to.reorder_percent) {
    out.push_back("reorder=" + FormatNumber(to.reorder_percent) + "%");
  }
  if (from.dup_percent != to.dup_percent) {
    out.push_back("dup=" + FormatNumber(to.dup_percent) + "%");
  }
  if (from.fifo != to.fifo) out.push_back(std::string("fifo=") + (to.fifo ? "on" : "off"));
  if (from.rate_bps != to.rate_bps) out.push_back("rate=" + FormatRate(to.rate_bps));
  if (from.queue != to.queue) out.push_back("queue=" + FormatQueue(to.queue));
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

struct Preset {
  const char* name;
  const char* spec;
  const char* description;
};

constexpr Preset kPresets[] = {
    {"clean", "delay=40ms", "40 ms one-way, no jitter, no loss"},
    // "30 ms spread" read as the range that holds 95% of the jitter: an exponential of
    // mean 10 ms puts 95% of packets within 30 ms (3 means) of the fastest, 99% within 46.
    {"jitter30", "delay=40ms,jitter=10ms",
     "40 ms one-way, jitter spread 30 ms: 95% of packets within 30 ms of the fastest "
     "(exponential, mean 10 ms; reorders)"},
    {"loss10", "delay=40ms,loss=10%", "40 ms one-way, 10% random (Bernoulli) loss"},
    {"loss20", "delay=40ms,loss=20%", "40 ms one-way, 20% random (Bernoulli) loss"},
    {"burst5", "delay=40ms,loss=5%,burst=3",
     "40 ms one-way, 5% bursty loss (Gilbert-Elliott, mean burst 3 packets)"},
    {"handover", "delay=40ms,outage=10s+500ms;at=10500ms:delay=100ms",
     "40 ms one-way; at 10 s a 500 ms outage, then 100 ms one-way"},
    {"edge", "delay=300ms,jitter=20ms,fifo=on,rate=32kbit",
     "EDGE-like: 32 kbit/s bottleneck with a 200 ms drop-tail queue, 300 ms one-way, "
     "20 ms jitter in order"},
    {"mobile", "delay=60ms,jitter=20ms,loss=3%,burst=4,fifo=on",
     "4G on the move: 60 ms one-way, 20 ms jitter in order, 3% loss in bursts of 4"},
    {"reorder", "delay=40ms,jitter=10ms,reorder=5%,dup=1%",
     "40 ms one-way, 10 ms jitter, 5% extra reordering, 1% duplicates"},
};

}  // namespace

const NetsimConditions& NetsimSpec::ConditionsAt(Duration since_start) const {
  auto it = std::upper_bound(steps.begin(), steps.end(), since_start,
                             [](Duration t, const NetsimStep& s) { return t < s.at; });
  if (it == steps.begin()) return initial;
  return std::prev(it)->conditions;
}

bool NetsimSpec::InOutage(Duration since_start) const {
  for (const auto& o : outages) {
    if (since_start >= o.start && since_start - o.start < o.length) return true;
  }
  return false;
}

std::optional<Duration> NetsimSpec::LastChange() const {
  std::optional<Duration> last;
  auto later = [&last](Duration t) { if (!last || t > *last) last = t; };
  for (const auto& step : steps) later(step.at);
  for (const auto& o : outages) later(o.start + o.length);
  return last;
}

Result<NetsimSpec> ParseNetsimSpec(std::string_view text) {
  NetsimSpec spec;
  if (Trim(text).empty()) return spec;
  NetsimConditions current;
  std::vector<std::string_view> sections = Split(text, ';');
  for (size_t i = 0; i < sections.size(); ++i) {
    std::string_view section = Trim(sections[i]);
    if (section.empty()) {
      return Error{"empty section in network spec " + Quote(Trim(text)) +
                   ": sections are separated by ';' and each step looks like "
                   "at=10s:delay=100ms"};
    }
    auto eq = section.find('=');
    bool is_step = eq != std::string_view::npos && Trim(section.substr(0, eq)) == "at";
    if (!is_step) {
      if (i > 0) {
        return Error{"section " + Quote(section) +
                     " after ';' in network spec must start with at=TIME:, e.g. "
                     "at=10s:delay=100ms"};
      }
      auto status = ApplySettings(section, current, &spec.outages);
      if (!status) return status.error();
      auto valid = Validate(current, "at the start");
      if (!valid) return valid.error();
      spec.initial = current;
      continue;
    }
    std::string_view rest = section.substr(eq + 1);
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) {
      return Error{"step " + Quote(section) +
                   " in network spec needs ':' after its time, e.g. at=10s:delay=100ms"};
    }
    std::string_view at_text = Trim(rest.substr(0, colon));
    auto at = ParseTimeFor("at", at_text);
    if (!at) return at.error();
    Duration previous = spec.steps.empty() ? Duration{0} : spec.steps.back().at;
    if (*at <= previous) {
      return Error{"step at=" + std::string(at_text) + " in network spec must come after " +
                   (spec.steps.empty() ? std::string("time 0")
                                       : "the step before it (at=" + FormatDuration(previous) + ")") +
                   ": steps go in increasing time order"};
    }
    auto status = ApplySettings(rest.substr(colon + 1), current, nullptr);
    if (!status) return status.error();
    auto valid = Validate(current, "at " + FormatDuration(*at));
    if (!valid) return valid.error();
    spec.steps.push_back(NetsimStep{*at, current});
  }
  return spec;
}

std::string DescribeNetsimSpec(const NetsimSpec& spec) {
  std::vector<std::string> first = {"delay=" + FormatDuration(spec.initial.delay)};
  NetsimConditions with_delay;
  with_delay.delay = spec.initial.delay;
  for (auto& d : Differences(with_delay, spec.initial)) first.push_back(std::move(d));
  for (const auto& o : spec.outages) {
    first.push_back("outage=" + FormatDuration(o.start) + "+" + FormatDuration(o.length));
  }
  std::string text = Join(first, ",");
  const NetsimConditions* previous = &spec.initial;
  for (const auto& step : spec.steps) {
    auto diff = Differences(*previous, step.conditions);
    if (diff.empty()) diff.push_back("delay=" + FormatDuration(step.conditions.delay));
    text += ";at=" + FormatDuration(step.at) + ":" + Join(diff, ",");
    previous = &step.conditions;
  }
  return text;
}

std::vector<NetsimPresetInfo> NetsimPresets() {
  std::vector<NetsimPresetInfo> out;
  for (const auto& p : kPresets) out.push_back({p.name, p.description, p.spec});
  return out;
}

Result<NetsimSpec> NetsimPreset(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& p : kPresets) {
    if (name == p.name) {
      auto spec = ParseNetsimSpec(p.spec);
      PARLEY_CHECK_MSG(spec.ok(), p.name);
      return spec;
    }
    names.push_back(p.name);
  }
  return Error{"unknown network preset " + Quote(name) + "; known presets: " +
               Join(names, ", ") + " (or give a spec such as delay=40ms,loss=5%)"};
}

Result<NetsimSpec> ParseNetsimSpecOrPreset(std::string_view text) {
  std::string_view trimmed = Trim(text);
  if (trimmed.empty() || trimmed.find('=') != std::string_view::npos) {
    return ParseNetsimSpec(text);
  }
  return NetsimPreset(trimmed);
}

}  // namespace parley::net
