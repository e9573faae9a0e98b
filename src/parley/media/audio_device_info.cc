// Choosing a sound device from the CLI's selector, and listing devices for the user.
#include "parley/media/audio_device_info.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <vector>

namespace parley::media {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool CanGo(const AudioDeviceInfo& d, AudioDirection direction) {
  return direction == AudioDirection::kInput ? d.max_input_channels > 0
                                             : d.max_output_channels > 0;
}

const char* Noun(AudioDirection direction) {
  return direction == AudioDirection::kInput ? "input" : "output";
}

const char* Flag(AudioDirection direction) {
  return direction == AudioDirection::kInput ? "--input-device" : "--output-device";
}

}  // namespace

Result<int> SelectAudioDevice(std::span<const AudioDeviceInfo> devices, std::string_view selector,
                              AudioDirection direction) {
  if (devices.empty()) return Error{"no audio device: use --in/--out WAV files for headless use"};
  std::vector<const AudioDeviceInfo*> usable;
  for (const auto& d : devices) {
    if (CanGo(d, direction)) usable.push_back(&d);
  }
  if (usable.empty()) {
    return Error{std::string("no audio ") + Noun(direction) +
                 " device: use --in/--out WAV files for headless use"};
  }
  if (selector.empty()) {
    for (const auto* d : usable) {
      if (direction == AudioDirection::kInput ? d->default_input : d->default_output) return d->index;
    }
    return Error{std::string("there is no default audio ") + Noun(direction) + " device: choose one with " +
                 Flag(direction) + " (see `parley devices`)"};
  }
  const bool digits = selector.size() <= 9 &&
                      std::all_of(selector.begin(), selector.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    int index = 0;
    for (char c : selector) index = index * 10 + (c - '0');
    for (const auto* d : usable) {
      if (d->index == index) return index;
    }
    return Error{"there is no audio " + std::string(Noun(direction)) + " device with index " +
                 std::string(selector) + ": see `parley devices` for the list"};
  }
  const std::string wanted = Lower(selector);
  std::vector<const AudioDeviceInfo*> matches;
  for (const auto* d : usable) {
    const std::string name = Lower(d->name);
    if (name == wanted) return d->index;
    if (name.find(wanted) != std::string::npos) matches.push_back(d);
  }
  if (matches.size() == 1) return matches[0]->index;
  if (matches.empty()) {
    return Error{"no audio " + std::string(Noun(direction)) + " device name contains \"" +
                 std::string(selector) + "\": see `parley devices` for the list"};
  }
  std::string list;
  for (const auto* d : matches) {
    if (!list.empty()) list += ", ";
    list += std::to_string(d->index) + ": " + d->name;
  }
  return Error{"audio device name \"" + std::string(selector) + "\" matches " +
               std::to_string(matches.size()) + " " + Noun(direction) + " devices (" + list +
               "); pass the index instead"};
}

std::string FormatAudioDeviceList(std::span<const AudioDeviceInfo> devices) {
  if (devices.empty()) {
    return "no audio devices found (use --in/--out WAV files for headless use)\n";
  }
  std::string out = "index  default  in  out  rate(Hz)  host API  name\n";
  char line[96];
  for (const auto& d : devices) {
    std::string marks;
    if (d.default_input) marks += "in";
    if (d.default_output) marks += marks.empty() ? "out" : ",out";
    std::snprintf(line, sizeof(line), "%5d  %-7s  %2d  %3d  %8.0f  ", d.index, marks.c_str(),
                  d.max_input_channels, d.max_output_channels, d.default_rate_hz);
    out += line;
    out += d.host_api + "  " + d.name + "\n";
  }
  return out;
}

}  // namespace parley::media
