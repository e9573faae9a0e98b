// GatedPath: a deferred or retirable PacketPath around another.
#include "gated_path.h"

#include <sys/socket.h>

#include <array>
#include <utility>

namespace parley::app {

GatedPath::GatedPath(std::unique_ptr<net::PacketPath> path) : kind_(path->kind()), owned_(std::move(path)) {
  inner_.store(owned_.get(), std::memory_order_release);
  activated_.store(true, std::memory_order_release);
  open_tried_ = true;
}

GatedPath::GatedPath(net::PathKind kind, Opener opener) : kind_(kind), opener_(std::move(opener)) {}

void GatedPath::OpenIfActivated() {
  if (open_tried_ || !activated()) return;
  open_tried_ = true;
  auto path = opener_();
  opener_ = nullptr;
  if (!path) {
    std::lock_guard lock(error_mutex_);
    open_error_ = path.error().message;
    failed_.store(true, std::memory_order_release);
    return;
  }
  owned_ = std::move(*path);
  inner_.store(owned_.get(), std::memory_order_release);
}

std::string GatedPath::open_error() const {
  std::lock_guard lock(error_mutex_);
  return open_error_;
}

void GatedPath::DropArrivals() {
  if (kind_ == net::PathKind::kRelayTls || !owned_) return;
  std::array<uint8_t, 2048> buffer;
  while (::recv(owned_->fd(), buffer.data(), buffer.size(), MSG_DONTWAIT) >= 0) {
  }
}

Status GatedPath::Send(std::span<const uint8_t> sealed, TimePoint now) {
  OpenIfActivated();
  if (!owned_) return Error{"This media path is not open."};
  if (retired()) return Error{"This media path was given up for another."};
  if (InBlackout(now)) return Error{"This media path is blacked out for a test."};
  return owned_->Send(sealed, now);
}

std::optional<std::vector<uint8_t>> GatedPath::Receive(TimePoint now) {
  OpenIfActivated();
  if (!owned_) return std::nullopt;
  // Not read once retired: RelayUdpPath's Receive also sends due binds. What still
  // arrives for it waits in the shared socket's bounded queue (oldest dropped).
  if (retired()) return std::nullopt;
  if (InBlackout(now)) {
    DropArrivals();
    return std::nullopt;
  }
  return owned_->Receive(now);
}

void GatedPath::Tick(TimePoint now) {
  OpenIfActivated();
  if (owned_ && !retired() && !InBlackout(now)) owned_->Tick(now);
}

int GatedPath::fd() const {
  const net::PacketPath* inner = inner_.load(std::memory_order_acquire);
  return inner ? inner->fd() : -1;
}

bool GatedPath::ready() const {
  const net::PacketPath* inner = inner_.load(std::memory_order_acquire);
  if (!inner || retired()) return false;
  return inner->ready() || (worth_probing_.load(std::memory_order_acquire) && inner->open());
}

bool GatedPath::open() const {
  if (failed_.load(std::memory_order_acquire) || retired()) return false;
  const net::PacketPath* inner = inner_.load(std::memory_order_acquire);
  return inner ? inner->open() : true;
}

std::string GatedPath::description() const {
  const net::PacketPath* inner = inner_.load(std::memory_order_acquire);
  std::string words = inner ? inner->description() : std::string(net::PathKindName(kind_)) + " (standby)";
  if (retired()) words += " (given up)";
  return words;
}

net::PacketPathStats GatedPath::stats() const {
  const net::PacketPath* inner = inner_.load(std::memory_order_acquire);
  return inner ? inner->stats() : net::PacketPathStats{};
}

}  // namespace parley::app
