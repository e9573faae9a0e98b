// A PacketPath that the CLI can switch on later (opened on the media thread when
// activated) or retire (it then sends nothing, not even relay binds), so the relay-UDP
// and relay-TLS paths of one ticket never fight over the relay's single binding.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "parley/base/time.h"
#include "parley/net/packet_path.h"

namespace parley::app {

// Threads: PacketPath's. Send, Receive and Tick from the media thread (which also opens
// a deferred path, at its first call after Activate). Activate, Retire, activated(),
// retired(), open_error() and PacketPath's any-thread methods from any thread.
// Lifetime: owns the inner path; `opener` runs at most once.
class GatedPath final : public net::PacketPath {
 public:
  using Opener = std::function<Result<std::unique_ptr<net::PacketPath>>()>;

  // A path already open and active.
  explicit GatedPath(std::unique_ptr<net::PacketPath> path);
  // A path of `kind` opened only once Activate() is called; until then it sends
  // nothing, receives nothing, is not ready and is open (so the manager keeps it).
  GatedPath(net::PathKind kind, Opener opener);

  // Opens a deferred path at the media thread's next call. Idempotent.
  void Activate() { activated_.store(true, std::memory_order_release); }
  // For good: no more sends, timers (binds, keepalives) or reads; open() turns false.
  void Retire() { retired_.store(true, std::memory_order_release); }
  // Reports ready() while open even before the carrier heard anything, so the path
  // manager probes it: for P2P, whose DirectUdpPath is ready only once the peer was
  // heard, while the manager probes only ready paths (and P2P is heard only by being
  // sent on). Set once it has somewhere to send (the peer's candidates).
  void SetWorthProbing() { worth_probing_.store(true, std::memory_order_release); }
  // Tests (--blackout-after/--blackout-for): from `from` until `until` the path sends
  // nothing (no binds or keepalives either) and what arrives on its UDP socket is read
  // and dropped, as in a network outage; a relay-TLS path only stops sending. Call
  // before the path is handed to the media thread.
  void SetBlackout(TimePoint from, TimePoint until) {
    blackout_from_ = from;
    blackout_until_ = until;
  }
  bool activated() const { return activated_.load(std::memory_order_acquire); }
  bool retired() const { return retired_.load(std::memory_order_acquire); }
  // Why opening failed, one sentence; empty if it did not (yet).
  std::string open_error() const;

  Status Send(std::span<const uint8_t> sealed, TimePoint now) override;
  std::optional<std::vector<uint8_t>> Receive(TimePoint now) override;
  void Tick(TimePoint now) override;
  int fd() const override;
  bool ready() const override;
  bool open() const override;
  net::PathKind kind() const override { return kind_; }
  std::string description() const override;
  net::PacketPathStats stats() const override;

 private:
  // Media thread: opens the deferred path if activated and not yet tried.
  void OpenIfActivated();
  bool InBlackout(TimePoint now) const { return blackout_from_ && now >= *blackout_from_ && now < *blackout_until_; }
  // Media thread, in a blackout: reads and drops what waits on the UDP descriptor.
  void DropArrivals();

  const net::PathKind kind_;
  Opener opener_;                               // media thread only
  bool open_tried_ = false;                     // media thread only
  std::unique_ptr<net::PacketPath> owned_;      // media thread only (and the destructor)
  std::atomic<net::PacketPath*> inner_{nullptr};  // published once opened, for any-thread readers
  std::atomic<bool> activated_{false};
  std::atomic<bool> retired_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> worth_probing_{false};
  std::optional<TimePoint> blackout_from_, blackout_until_;  // set before the media thread starts
  mutable std::mutex error_mutex_;  // guards open_error_
  std::string open_error_;
};

}  // namespace parley::app
