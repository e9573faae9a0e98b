// The thin real-time adapter around CallMedia: the media thread that paces 10 ms
// blocks between the audio input, the transport and the audio output.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "parley/base/result.h"
#include "parley/call/call_media.h"
#include "parley/call/media_transport.h"
#include "parley/media/audio_input.h"
#include "parley/media/audio_output.h"

namespace parley::call {

// Owns the media thread; the input, output and transport are not owned and must
// outlive the runner. Pacing follows media/audio_io.h: a device input paces, else a
// device output, else absolute 10 ms deadlines on steady_clock. Start/Stop/stats from
// the thread that owns the call (the CLI's main thread).
class CallMediaRunner {
 public:
  // Starts the input and the output (this is where the microphone opens) and the thread.
  static Result<std::unique_ptr<CallMediaRunner>> Start(std::unique_ptr<CallMedia> media,
                                                        media::AudioInput& input, media::AudioOutput& output,
                                                        MediaTransport& transport);
  ~CallMediaRunner();
  CallMediaRunner(const CallMediaRunner&) = delete;
  CallMediaRunner& operator=(const CallMediaRunner&) = delete;

  // Stops the thread, then the input and output (completing a WAV file). Returns the
  // first error the thread or the output met. Idempotent. kSayBye: after the thread
  // has stopped, sends CallMedia::SendBye on the transport from the calling thread
  // (this user hung up; the peer ends even without a server).
  enum class StopMode { kQuiet, kSayBye };
  Status Stop(StopMode mode = StopMode::kQuiet);
  CallMediaStats stats() const;
  const crypto::Fingerprint& fingerprint() const { return media_->fingerprint(); }

 private:
  CallMediaRunner(std::unique_ptr<CallMedia> media, media::AudioInput& input, media::AudioOutput& output,
                  MediaTransport& transport);
  void Run();
  void Step(TimePoint now);  // receive, play one block, timers

  std::unique_ptr<CallMedia> media_;  // touched only by the thread while it runs
  media::AudioInput* input_;
  media::AudioOutput* output_;
  MediaTransport* transport_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  bool stopped_ = false;

  mutable std::mutex mu_;  // guards stats_ and error_ (thread writes, owner reads)
  CallMediaStats stats_;
  std::optional<Error> error_;
};

}  // namespace parley::call
