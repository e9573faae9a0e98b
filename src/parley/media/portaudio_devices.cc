// All of Parley's PortAudio code: device listing, and capture/playout streams whose
// callbacks move samples through lock-free rings (see audio_io.h for the timing model).
#include "parley/media/portaudio_devices.h"

#include <alsa/asoundlib.h>
#include <jack/jack.h>
#include <portaudio.h>
#include <semaphore.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <mutex>
#include <string>

#include "parley/media/capture_processor.h"
#include "parley/media/spsc_ring.h"

namespace parley::media {
namespace {

// ALSA and JACK print to stderr while PortAudio probes for hardware that is not there;
// these handlers drop that chatter (errors still reach us as PortAudio error codes).
void SilentAlsa(const char*, int, const char*, int, const char*, ...) {}
void SilentJack(const char*) {}

void SilenceBackends() {
  static std::once_flag once;
  std::call_once(once, [] {
    snd_lib_error_set_handler(&SilentAlsa);
    jack_set_error_function(&SilentJack);
    jack_set_info_function(&SilentJack);
  });
}

Status InitializePortAudio() {
  SilenceBackends();
  const PaError err = Pa_Initialize();
  if (err != paNoError) {
    return Error{std::string("cannot start PortAudio (") + Pa_GetErrorText(err) +
                 "): use --in/--out WAV files for headless use"};
  }
  return Ok{};
}

std::vector<AudioDeviceInfo> ListDevices() {
  std::vector<AudioDeviceInfo> out;
  const int count = Pa_GetDeviceCount();
  for (int i = 0; i < count; ++i) {
    const PaDeviceInfo* info = Pa_GetDeviceInfo(i);
    if (info == nullptr) continue;
    const PaHostApiInfo* host = Pa_GetHostApiInfo(info->hostApi);
    out.push_back(AudioDeviceInfo{
        .index = i,
        .name = info->name != nullptr ? info->name : "",
        .host_api = host != nullptr && host->name != nullptr ? host->name : "",
        .max_input_channels = info->maxInputChannels,
        .max_output_channels = info->maxOutputChannels,
        .default_rate_hz = info->defaultSampleRate,
        .default_input = i == Pa_GetDefaultInputDevice(),
        .default_output = i == Pa_GetDefaultOutputDevice(),
    });
  }
  return out;
}

timespec MonotonicDeadline(Duration timeout) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t ns = now.tv_nsec + std::max<int64_t>(0, timeout.count());
  return timespec{.tv_sec = now.tv_sec + static_cast<time_t>(ns / 1'000'000'000),
                  .tv_nsec = static_cast<long>(ns % 1'000'000'000)};
}

// What one stream direction shares: the library reference, the PaStream, the ring,
// the semaphore the callback posts and the glitch counters.
class PortAudioStream {
 public:
  PortAudioStream(const PortAudioOptions& options, int channels)
      : channels_(channels),
        ring_(static_cast<size_t>(std::max(options.ring_blocks, 2)) * kBlockSamples) {
    sem_init(&ready_, /*pshared=*/0, 0);
  }
  ~PortAudioStream() {
    CloseStream();
    Pa_Terminate();  // drops this stream's reference to the library
    sem_destroy(&ready_);
  }
  // Stops the callback for good. The derived streams call it first in their destructors,
  // since the callback uses their members, which die before this base.
  void CloseStream() {
    if (stream_ != nullptr) Pa_CloseStream(stream_);  // stops the callback first
    stream_ = nullptr;
  }
  PortAudioStream(const PortAudioStream&) = delete;
  PortAudioStream& operator=(const PortAudioStream&) = delete;

  // Opens the stream; `device_name` is for errors.
  Status Open(const PaStreamParameters* input, const PaStreamParameters* output,
              PaStreamCallback* callback, void* user, const std::string& device_name) {
    const PaError err = Pa_OpenStream(&stream_, input, output, kSampleRateHz, kBlockSamples,
                                      paNoFlag, callback, user);
    if (err != paNoError) {
      stream_ = nullptr;
      return Error{"cannot open audio device \"" + device_name + "\" (" + Pa_GetErrorText(err) +
                   "): it may be busy or unplugged; pick another with `parley devices`, or use "
                   "--in/--out WAV files"};
    }
    return Ok{};
  }

  Status StartStream() {
    if (Pa_IsStreamActive(stream_) == 1) return Ok{};
    const PaError err = Pa_StartStream(stream_);
    if (err != paNoError) {
      return Error{std::string("cannot start the audio device (") + Pa_GetErrorText(err) +
                   "): check that it is still connected"};
    }
    return Ok{};
  }

  Status StopStream() {
    if (Pa_IsStreamStopped(stream_) == 1) return Ok{};
    const PaError err = Pa_StopStream(stream_);  // returns after the last callback
    if (err != paNoError) {
      return Error{std::string("cannot stop the audio device (") + Pa_GetErrorText(err) + ")"};
    }
    return Ok{};
  }

  // Media thread: waits until `enough()` or the timeout. The callback posts once per
  // call; posts that pile up while the media thread is busy only cause a re-check.
  template <typename Enough>
  bool Wait(Duration timeout, Enough enough) {
    const timespec deadline = MonotonicDeadline(timeout);
    while (!enough()) {
      if (sem_clockwait(&ready_, CLOCK_MONOTONIC, &deadline) != 0) {
        if (errno == EINTR) continue;
        return enough();  // ETIMEDOUT
      }
    }
    while (sem_trywait(&ready_) == 0) {
    }
    return true;
  }

  AudioGlitches glitches() const {
    return AudioGlitches{.overruns = overruns_.load(std::memory_order_relaxed),
                         .underruns = underruns_.load(std::memory_order_relaxed)};
  }

 protected:
  const int channels_;
  PaStream* stream_ = nullptr;
  SpscRing<Sample> ring_;
  sem_t ready_;
  std::atomic<uint64_t> overruns_{0};
  std::atomic<uint64_t> underruns_{0};
};

// Samples per chunk when converting channel layouts on the callback's stack.
constexpr size_t kChunkFrames = 256;

class PortAudioInput final : public AudioInput, private PortAudioStream {
 public:
  PortAudioInput(const PortAudioOptions& options, int channels)
      : PortAudioStream(options, channels), processing_(options.processing), far_end_(options.far_end) {}
  ~PortAudioInput() override { CloseStream(); }

  Status OpenDevice(const PaStreamParameters& params, const std::string& name) {
    if (processing_) {  // allocated here, before the callback can run
      auto processor = AudioProcessor::Create(*processing_);
      if (!processor.ok()) return processor.error();
      capture_ = std::make_unique<CaptureProcessor>(std::move(*processor), far_end_);
    }
    Status opened = Open(&params, nullptr, &PortAudioInput::Callback, this, name);
    if (opened.ok()) {
      const PaStreamInfo* info = Pa_GetStreamInfo(stream_);
      if (info != nullptr) {
        input_latency_ = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(info->inputLatency));
      }
    }
    return opened;
  }

  std::optional<CaptureProcessingStats> processing_stats() const override {
    if (capture_ == nullptr) return std::nullopt;
    return capture_->stats();
  }

  Status Start() override {
    ring_.Skip(ring_.capacity());  // the callback is not running: nothing races this
    return StartStream();
  }
  Status Stop() override { return StopStream(); }
  AudioPacing pacing() const override { return AudioPacing::kDevice; }

  bool WaitReadable(Duration timeout) override {
    return Wait(timeout, [this] { return ring_.ReadAvailable() >= kBlockSamples; });
  }

  bool ReadBlock(std::span<Sample, kBlockSamples> block) override {
    if (ring_.ReadAvailable() < kBlockSamples) return false;
    ring_.Read(block);
    return true;
  }

  AudioGlitches glitches() const override { return PortAudioStream::glitches(); }

 private:
  static int Callback(const void* input, void*, unsigned long frames,
                      const PaStreamCallbackTimeInfo* time, PaStreamCallbackFlags flags, void* user) {
    static_cast<PortAudioInput*>(user)->OnCapture(static_cast<const Sample*>(input), frames, time, flags);
    return paContinue;
  }

  // When this callback's first sample reached the microphone, on steady_clock.
  TimePoint AdcTime(const PaStreamCallbackTimeInfo* time) const {
    Duration ago = input_latency_;
    if (time != nullptr && time->currentTime >= time->inputBufferAdcTime &&
        time->currentTime - time->inputBufferAdcTime < 1.0) {
      ago = std::chrono::duration_cast<Duration>(
          std::chrono::duration<double>(time->currentTime - time->inputBufferAdcTime));
    }
    return std::chrono::steady_clock::now() - ago;
  }

  // Audio callback context: ring, atomics, steady_clock (vDSO), sem_post and, with
  // processing, the allocation-free CaptureProcessor.
  void OnCapture(const Sample* input, unsigned long frames, const PaStreamCallbackTimeInfo* time,
                 PaStreamCallbackFlags flags) {
    if ((flags & paInputOverflow) != 0) overruns_.fetch_add(1, std::memory_order_relaxed);
    if ((flags & paInputUnderflow) != 0) underruns_.fetch_add(1, std::memory_order_relaxed);
    if (input == nullptr) return;
    bool dropped = false;
    if (capture_ != nullptr) {
      const TimePoint adc = AdcTime(time);
      if (channels_ == 1) {
        dropped = !capture_->Push(std::span<const Sample>(input, frames), adc, ring_);
      } else {
        std::array<Sample, kChunkFrames> mono;
        for (unsigned long done = 0; done < frames;) {
          const size_t n = std::min<size_t>(kChunkFrames, frames - done);
          for (size_t i = 0; i < n; ++i) {
            const Sample* frame = input + (done + i) * static_cast<size_t>(channels_);
            mono[i] = static_cast<Sample>((int{frame[0]} + int{frame[1]}) / 2);
          }
          const TimePoint at = adc + Duration{static_cast<int64_t>(done) * 1'000'000'000 / kSampleRateHz};
          dropped |= !capture_->Push(std::span<const Sample>(mono.data(), n), at, ring_);
          done += n;
        }
      }
    } else if (channels_ == 1) {
      dropped = ring_.Write(std::span<const Sample>(input, frames)) < frames;
    } else {
      // Average the first two channels (a stereo mic's left and right).
      std::array<Sample, kChunkFrames> mono;
      for (unsigned long done = 0; done < frames;) {
        const size_t n = std::min<size_t>(kChunkFrames, frames - done);
        for (size_t i = 0; i < n; ++i) {
          const Sample* frame = input + (done + i) * static_cast<size_t>(channels_);
          mono[i] = static_cast<Sample>((int{frame[0]} + int{frame[1]}) / 2);
        }
        dropped |= ring_.Write(std::span<const Sample>(mono.data(), n)) < n;
        done += n;
      }
    }
    if (dropped) overruns_.fetch_add(1, std::memory_order_relaxed);
    sem_post(&ready_);
  }

  const std::optional<AudioProcessingConfig> processing_;
  const std::shared_ptr<FarEndReference> far_end_;
  std::unique_ptr<CaptureProcessor> capture_;  // set in OpenDevice, used by the callback
  Duration input_latency_{0};
};

class PortAudioOutput final : public AudioOutput, private PortAudioStream {
 public:
  PortAudioOutput(const PortAudioOptions& options, int channels)
      : PortAudioStream(options, channels),
        target_samples_(static_cast<size_t>(std::max(options.output_target_blocks, 1)) *
                        kBlockSamples),
        far_end_(options.far_end) {}
  ~PortAudioOutput() override { CloseStream(); }

  Status OpenDevice(const PaStreamParameters& params, const std::string& name) {
    Status opened = Open(nullptr, &params, &PortAudioOutput::Callback, this, name);
    if (opened.ok()) {
      const PaStreamInfo* info = Pa_GetStreamInfo(stream_);
      if (info != nullptr) {
        output_latency_ = std::chrono::duration_cast<Duration>(
            std::chrono::duration<double>(info->outputLatency));
      }
    }
    return opened;
  }

  Status Start() override {
    // The callback is not running: resetting its state and the ring races nothing.
    // The write index keeps counting, so played_ starts from where writing is.
    ring_.Skip(ring_.capacity());
    played_ = written_;
    primed_ = false;
    return StartStream();
  }
  Status Stop() override { return StopStream(); }
  AudioPacing pacing() const override { return AudioPacing::kDevice; }

  bool WaitWritable(Duration timeout) override {
    return Wait(timeout, [this] { return Queued() < target_samples_; });
  }

  bool WriteBlock(std::span<const Sample, kBlockSamples> block) override {
    if (ring_.WriteAvailable() < kBlockSamples) {
      overruns_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    ring_.Write(block);
    written_ += kBlockSamples;
    return true;
  }

  AudioGlitches glitches() const override { return PortAudioStream::glitches(); }

  std::optional<PlayoutMark> LastPlayed() const override {
    // Seqlock reader: retry while the callback is between its two stores.
    for (;;) {
      const uint64_t seq = mark_seq_.load(std::memory_order_acquire);
      if (seq == 0) return std::nullopt;
      if ((seq & 1) != 0) continue;
      const uint64_t sample = mark_sample_.load(std::memory_order_relaxed);
      const int64_t time_ns = mark_time_ns_.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (mark_seq_.load(std::memory_order_relaxed) == seq) {
        return PlayoutMark{.sample = sample, .time = TimePoint{} + Duration{time_ns}};
      }
    }
  }

 private:
  size_t Queued() const { return ring_.capacity() - ring_.WriteAvailable(); }

  static int Callback(const void*, void* output, unsigned long frames,
                      const PaStreamCallbackTimeInfo* time, PaStreamCallbackFlags flags,
                      void* user) {
    static_cast<PortAudioOutput*>(user)->OnPlay(static_cast<Sample*>(output), frames, time, flags);
    return paContinue;
  }

  // Audio callback context: ring, atomics, steady_clock (vDSO), sem_post and the far-end
  // reference's lock-free ring only.
  void OnPlay(Sample* output, unsigned long frames, const PaStreamCallbackTimeInfo* time,
              PaStreamCallbackFlags flags) {
    if ((flags & paOutputUnderflow) != 0) underruns_.fetch_add(1, std::memory_order_relaxed);
    if (output == nullptr) return;
    size_t got = 0;
    const TimePoint dac = DacTime(time);
    if (channels_ == 1) {
      got = ring_.Read(std::span<Sample>(output, frames));
      std::fill(output + got, output + frames, Sample{0});
      if (far_end_ != nullptr) far_end_->OnPlayed(std::span<const Sample>(output, frames), dac);
    } else {
      std::array<Sample, kChunkFrames> mono;
      for (unsigned long done = 0; done < frames;) {
        const size_t want = std::min<size_t>(kChunkFrames, frames - done);
        const size_t n = ring_.Read(std::span<Sample>(mono.data(), want));
        std::fill(mono.begin() + static_cast<std::ptrdiff_t>(n), mono.begin() + static_cast<std::ptrdiff_t>(want),
                  Sample{0});
        for (size_t i = 0; i < want; ++i) {
          Sample* frame = output + (done + i) * static_cast<size_t>(channels_);
          std::fill(frame, frame + channels_, mono[i]);
        }
        if (far_end_ != nullptr) {
          far_end_->OnPlayed(std::span<const Sample>(mono.data(), want),
                             dac + Duration{static_cast<int64_t>(done) * 1'000'000'000 / kSampleRateHz});
        }
        got += n;
        done += want;
      }
    }
    if (got < frames && primed_) underruns_.fetch_add(1, std::memory_order_relaxed);
    if (got > 0) {
      primed_ = true;
      PublishMark(played_, dac);
      played_ += got;
    }
    sem_post(&ready_);
  }

  // When this callback's first sample reaches the speaker, on steady_clock.
  TimePoint DacTime(const PaStreamCallbackTimeInfo* time) const {
    Duration ahead = output_latency_;
    if (time != nullptr && time->outputBufferDacTime > time->currentTime &&
        time->outputBufferDacTime - time->currentTime < 1.0) {
      ahead = std::chrono::duration_cast<Duration>(
          std::chrono::duration<double>(time->outputBufferDacTime - time->currentTime));
    }
    return std::chrono::steady_clock::now() + ahead;
  }

  void PublishMark(uint64_t sample, TimePoint at) {
    const uint64_t seq = mark_seq_.load(std::memory_order_relaxed);
    mark_seq_.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    mark_sample_.store(sample, std::memory_order_relaxed);
    mark_time_ns_.store(at.time_since_epoch().count(), std::memory_order_relaxed);
    mark_seq_.store(seq + 2, std::memory_order_release);
  }

  const size_t target_samples_;
  const std::shared_ptr<FarEndReference> far_end_;  // producer side, in the callback
  Duration output_latency_{0};
  uint64_t written_ = 0;      // media thread: samples accepted by WriteBlock since creation
  uint64_t played_ = 0;       // callback: written samples handed to the device
  bool primed_ = false;       // callback: something was played (underruns count after that)
  std::atomic<uint64_t> mark_seq_{0};  // seqlock: odd while the callback updates the mark
  std::atomic<uint64_t> mark_sample_{0};
  std::atomic<int64_t> mark_time_ns_{0};
};

// Checks that the device can run at 48 kHz int16 with `channels`.
bool Supports(int device, int channels, bool input, double latency) {
  PaStreamParameters params{.device = device,
                            .channelCount = channels,
                            .sampleFormat = paInt16,
                            .suggestedLatency = latency,
                            .hostApiSpecificStreamInfo = nullptr};
  return Pa_IsFormatSupported(input ? &params : nullptr, input ? nullptr : &params,
                              kSampleRateHz) == paFormatIsSupported;
}

// Chooses the device and the channel count: mono if the device takes it, else two.
struct Choice {
  PaStreamParameters params;
  std::string name;
};

Result<Choice> Choose(std::string_view selector, AudioDirection direction,
                      const PortAudioOptions& options) {
  const std::vector<AudioDeviceInfo> devices = ListDevices();
  auto index = SelectAudioDevice(devices, selector, direction);
  if (!index.ok()) return index.error();
  const PaDeviceInfo* info = Pa_GetDeviceInfo(*index);
  if (info == nullptr) return Error{"audio device " + std::to_string(*index) + " went away: see `parley devices`"};
  const bool input = direction == AudioDirection::kInput;
  const double latency = options.suggested_latency_s > 0
                             ? options.suggested_latency_s
                             : (input ? info->defaultLowInputLatency : info->defaultLowOutputLatency);
  const int max_channels = input ? info->maxInputChannels : info->maxOutputChannels;
  for (int channels : {1, 2}) {
    if (channels > max_channels) break;
    if (Supports(*index, channels, input, latency)) {
      return Choice{.params = {.device = *index,
                               .channelCount = channels,
                               .sampleFormat = paInt16,
                               .suggestedLatency = latency,
                               .hostApiSpecificStreamInfo = nullptr},
                    .name = info->name != nullptr ? info->name : ""};
    }
  }
  return Error{"audio device \"" + std::string(info->name != nullptr ? info->name : "") +
               "\" cannot " + (input ? "capture" : "play") + " 48 kHz 16-bit mono or stereo (its rate is " +
               std::to_string(static_cast<int>(info->defaultSampleRate)) +
               " Hz): choose the \"default\" or \"pulse\" device, which convert, or use --in/--out WAV files"};
}

template <typename Stream, typename Interface>
Result<std::unique_ptr<Interface>> OpenStream(std::string_view selector, AudioDirection direction,
                                              const PortAudioOptions& options) {
  Status init = InitializePortAudio();  // this stream's own reference
  if (!init.ok()) return init.error();
  auto choice = Choose(selector, direction, options);
  if (!choice.ok()) {
    Pa_Terminate();
    return choice.error();
  }
  // From here the stream owns the reference (its destructor terminates).
  auto stream = std::make_unique<Stream>(options, choice->params.channelCount);
  Status opened = stream->OpenDevice(choice->params, choice->name);
  if (!opened.ok()) return opened.error();
  return std::unique_ptr<Interface>(std::move(stream));
}

}  // namespace

Result<std::unique_ptr<PortAudioDevices>> PortAudioDevices::Create() {
  Status init = InitializePortAudio();
  if (!init.ok()) return init.error();
  return std::unique_ptr<PortAudioDevices>(new PortAudioDevices());
}

PortAudioDevices::~PortAudioDevices() { Pa_Terminate(); }

std::vector<AudioDeviceInfo> PortAudioDevices::List() const { return ListDevices(); }

Result<std::unique_ptr<AudioInput>> PortAudioDevices::OpenInput(std::string_view selector,
                                                                const PortAudioOptions& options) {
  return OpenStream<PortAudioInput, AudioInput>(selector, AudioDirection::kInput, options);
}

Result<std::unique_ptr<AudioOutput>> PortAudioDevices::OpenOutput(std::string_view selector,
                                                                  const PortAudioOptions& options) {
  return OpenStream<PortAudioOutput, AudioOutput>(selector, AudioDirection::kOutput, options);
}

}  // namespace parley::media
