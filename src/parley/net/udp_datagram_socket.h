// An unconnected, non-blocking UDP socket as a DatagramPort: the direct path's socket
// in tests and wherever no relay socket is shared.
#pragma once

#include <memory>

#include "parley/net/datagram_port.h"

namespace parley::net {

// Owns its descriptor (closed with the object). Threads as DatagramPort.
class UdpDatagramSocket final : public DatagramPort {
 public:
  // Binds to `local` ("127.0.0.1:0": any free port). An IPv6 wildcard bind is
  // dual-stack. The error is one sentence.
  static Result<std::unique_ptr<UdpDatagramSocket>> Bind(const UdpEndpoint& local);
  ~UdpDatagramSocket() override;
  UdpDatagramSocket(const UdpDatagramSocket&) = delete;
  UdpDatagramSocket& operator=(const UdpDatagramSocket&) = delete;

  Status SendTo(std::span<const uint8_t> datagram, const UdpEndpoint& to) override;
  std::optional<ReceivedDatagram> ReceiveFrom() override;
  int fd() const override { return fd_; }
  // The bound address with the port the kernel chose.
  const UdpEndpoint& local_endpoint() const { return local_; }

 private:
  UdpDatagramSocket(int fd, UdpEndpoint local) : fd_(fd), local_(local) {}
  int fd_ = -1;
  UdpEndpoint local_;
};

}  // namespace parley::net
