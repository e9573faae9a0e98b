// Bounds a blocking call on a socket from another thread: past its deadline the socket
// is shut down, so the blocked read returns at once (libpq has no client-side timeout).
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "parley/base/time.h"

namespace parley::server {

// Why a thread: libpq (and libpqxx 6 over it) waits in poll() with no timeout once a
// query is sent. statement_timeout bounds a slow query only while the server still
// runs; a stopped, swapped-out or cut-off server answers nothing, and only closing the
// socket under the waiting call ends the wait (it then fails as a lost connection).
//
// Owner's context (one at a time): Arm, Disarm. The watchdog's own thread only ever
// calls shutdown() on the armed descriptor, with the mutex held, so once Disarm has
// returned that descriptor is never touched again and the owner may close it.
class SocketWatchdog {
 public:
  SocketWatchdog();
  ~SocketWatchdog();  // stops and joins the thread
  SocketWatchdog(const SocketWatchdog&) = delete;
  SocketWatchdog& operator=(const SocketWatchdog&) = delete;

  // Until Disarm: if steady_clock reaches `deadline`, shutdown(fd, SHUT_RDWR).
  void Arm(int fd, TimePoint deadline);
  // True if the deadline passed and the socket was shut down since Arm.
  bool Disarm();

 private:
  void Run();

  std::mutex mutex_;  // guards fd_, deadline_, fired_, stopping_
  std::condition_variable changed_;
  int fd_ = -1;  // -1: not armed
  TimePoint deadline_{};
  bool fired_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: started after the fields it reads
};

}  // namespace parley::server
