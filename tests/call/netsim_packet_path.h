// A fake net::PacketPath for tests: one side of a NetsimPath, so whole calls over
// several simulated paths run in simulated time with no sockets.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/net/netsim_link.h"
#include "parley/net/netsim_path.h"
#include "parley/net/packet_path.h"

namespace parley::call::testing {

// Sends into `out`, receives from `in` (both owned by a NetsimPath the test keeps
// alive). Ready from `ready_at` on (a TLS path connects later than UDP is usable);
// every packet size sent is recorded for wire checks.
class NetsimPacketPath final : public net::PacketPath {
 public:
  NetsimPacketPath(net::PathKind kind, std::string name, net::NetsimLink& out, net::NetsimLink& in,
                   TimePoint ready_at, std::vector<std::size_t>* sizes = nullptr)
      : kind_(kind), name_(std::move(name)), out_(out), in_(in), ready_at_(ready_at), sizes_(sizes) {}

  Status Send(std::span<const uint8_t> sealed, TimePoint now) override {
    if (now < ready_at_) return Error{"not connected yet"};
    if (sizes_) sizes_->push_back(sealed.size());
    ++stats_.packets_sent;
    stats_.bytes_sent += sealed.size();
    out_.Send({sealed.begin(), sealed.end()}, now);
    return Ok{};
  }
  std::optional<std::vector<uint8_t>> Receive(TimePoint now) override {
    if (inbox_.empty()) {
      for (net::NetsimPacket& packet : in_.Receive(now)) inbox_.push_back(std::move(packet.bytes));
    }
    if (inbox_.empty()) return std::nullopt;
    std::vector<uint8_t> packet = std::move(inbox_.front());
    inbox_.pop_front();
    ++stats_.packets_received;
    stats_.bytes_received += packet.size();
    return packet;
  }
  void Tick(TimePoint now) override { now_ = now; }
  int fd() const override { return -1; }
  bool ready() const override { return now_ >= ready_at_; }
  bool open() const override { return true; }
  net::PathKind kind() const override { return kind_; }
  std::string description() const override { return std::string(net::PathKindName(kind_)) + " " + name_; }
  net::PacketPathStats stats() const override { return stats_; }

 private:
  net::PathKind kind_;
  std::string name_;
  net::NetsimLink& out_;
  net::NetsimLink& in_;
  TimePoint ready_at_;
  std::vector<std::size_t>* sizes_;
  TimePoint now_{};
  std::deque<std::vector<uint8_t>> inbox_;
  net::PacketPathStats stats_;
};

}  // namespace parley::call::testing
