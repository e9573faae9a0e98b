// SocketWatchdog: one thread per watched connection, asleep unless armed.
#include "parley/server/socket_watchdog.h"

#include <sys/socket.h>

namespace parley::server {

SocketWatchdog::SocketWatchdog() : thread_([this] { Run(); }) {}

SocketWatchdog::~SocketWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void SocketWatchdog::Arm(int fd, TimePoint deadline) {
  {
    std::lock_guard lock(mutex_);
    fd_ = fd;
    deadline_ = deadline;
    fired_ = false;
  }
  changed_.notify_all();
}

bool SocketWatchdog::Disarm() {
  std::lock_guard lock(mutex_);
  fd_ = -1;
  return fired_;
}

void SocketWatchdog::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (fd_ < 0 || fired_) {
      changed_.wait(lock);
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline_) {
      shutdown(fd_, SHUT_RDWR);  // the blocked read sees end of stream
      fired_ = true;
      continue;
    }
    changed_.wait_until(lock, deadline_);
  }
}

}  // namespace parley::server
