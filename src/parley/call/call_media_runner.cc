// The media thread: one loop, paced by whichever audio endpoint has a clock.
#include "parley/call/call_media_runner.h"

#include <array>
#include <chrono>

namespace parley::call {
namespace {
constexpr Duration kTick = milliseconds(media::kBlockMs);
constexpr Duration kWaitTimeout = milliseconds(100);
}  // namespace

Result<std::unique_ptr<CallMediaRunner>> CallMediaRunner::Start(std::unique_ptr<CallMedia> media,
                                                                media::AudioInput& input,
                                                                media::AudioOutput& output,
                                                                MediaTransport& transport) {
  if (Status s = output.Start(); !s) return s.error();
  if (Status s = input.Start(); !s) {
    (void)output.Stop();
    return s.error();
  }
  std::unique_ptr<CallMediaRunner> runner(new CallMediaRunner(std::move(media), input, output, transport));
  runner->thread_ = std::thread([r = runner.get()] { r->Run(); });
  return runner;
}

CallMediaRunner::CallMediaRunner(std::unique_ptr<CallMedia> media, media::AudioInput& input,
                                 media::AudioOutput& output, MediaTransport& transport)
    : media_(std::move(media)), input_(&input), output_(&output), transport_(&transport) {}

CallMediaRunner::~CallMediaRunner() { (void)Stop(); }

Status CallMediaRunner::Stop(StopMode mode) {
  if (stopped_) {
    std::lock_guard lock(mu_);
    if (error_) return *error_;
    return Ok{};
  }
  stopped_ = true;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  // The thread has ended, so media_ and the transport are this thread's now. A bye that
  // cannot be sent is not an error of the call: signaling carries the hangup as well.
  if (mode == StopMode::kSayBye) (void)media_->SendBye(std::chrono::steady_clock::now());
  Status in = input_->Stop();
  Status out = output_->Stop();
  std::lock_guard lock(mu_);
  if (!error_ && !out) error_ = out.error();
  if (!error_ && !in) error_ = in.error();
  if (error_) return *error_;
  return Ok{};
}

CallMediaStats CallMediaRunner::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void CallMediaRunner::Step(TimePoint now) {
  std::array<media::Sample, media::kBlockSamples> block{};
  while (auto packet = transport_->Receive(now)) media_->OnPacket(packet->sealed, now, packet->path);
  media_->Pull(now, block);
  output_->WriteBlock(block);
  Status tick = media_->OnTick(now);
  std::lock_guard lock(mu_);
  if (!tick && !error_) error_ = tick.error();
  stats_ = media_->stats();
}

void CallMediaRunner::Run() {
  std::array<media::Sample, media::kBlockSamples> captured{};
  const auto now = [] { return std::chrono::steady_clock::now(); };
  if (input_->pacing() == media::AudioPacing::kDevice) {
    while (!stop_) {
      if (!input_->WaitReadable(kWaitTimeout)) {
        Step(now());  // keep timers and the receive side going
        continue;
      }
      while (!stop_ && input_->ReadBlock(captured)) {
        const TimePoint t = now();
        while (auto packet = transport_->Receive(t)) media_->OnPacket(packet->sealed, t, packet->path);
        if (Status s = media_->OnCapturedBlock(captured, now()); !s) {
          std::lock_guard lock(mu_);
          if (!error_) error_ = s.error();
        }
        Step(now());
      }
    }
    return;
  }
  if (output_->pacing() == media::AudioPacing::kDevice) {
    while (!stop_) {
      if (!output_->WaitWritable(kWaitTimeout)) continue;
      if (input_->ReadBlock(captured)) {
        if (Status s = media_->OnCapturedBlock(captured, now()); !s) {
          std::lock_guard lock(mu_);
          if (!error_) error_ = s.error();
        }
      }
      Step(now());
    }
    return;
  }
  // Both ends are files: absolute deadlines, so pacing does not drift.
  const TimePoint start = now();
  for (int64_t n = 0; !stop_; ++n) {
    std::this_thread::sleep_until(start + kTick * n);
    if (input_->ReadBlock(captured)) {
      if (Status s = media_->OnCapturedBlock(captured, now()); !s) {
        std::lock_guard lock(mu_);
        if (!error_) error_ = s.error();
      }
    }
    Step(now());
  }
}

}  // namespace parley::call
