// What audio inputs and outputs have in common: who paces the 10 ms clock, glitch
// counters, and how the call engine's media thread runs against them.
#pragma once

#include <cstdint>

namespace parley::media {

// Timing model. Audio moves in 10 ms blocks of 48 kHz mono int16 (audio_format.h).
// Something has to say when the next block is due:
//
//   kDevice: a sound card's clock. PortAudio calls its callback on its own real-time
//     thread; the callback only copies samples between the device and a lock-free
//     SpscRing, bumps atomic counters and posts a POSIX semaphore (sem_post is
//     lock-free in glibc and async-signal-safe: no mutex, no allocation). The media
//     thread sleeps in WaitReadable/WaitWritable on that semaphore.
//   kEngine: nobody (WAV files). ReadBlock/WriteBlock never wait and always succeed;
//     the engine paces them with its own steady-clock timer.
//
// How the media thread runs, given one input and one output:
//   1. If the input is kDevice, it paces: loop { WaitReadable(timeout);
//      while (ReadBlock(block)) { process; output.WriteBlock(played) } }.
//      A kDevice output then just takes what it is given (its ring absorbs the
//      phase difference between the two callbacks; clock drift between two different
//      cards shows up as glitches, which the jitter buffer's time stretch may hide).
//   2. Else if the output is kDevice, it paces: loop { WaitWritable(timeout);
//      input.ReadBlock(block); process; output.WriteBlock(played) }.
//   3. Else (both files): a timer at absolute 10 ms deadlines on steady_clock
//      (sleep_until(start + n * 10ms), so pacing does not drift), one block each.
//      A test or an offline run may skip the sleeps: file I/O does not depend on it.
// A wait that times out (device stalled, 100 ms is a good timeout) lets the engine
// check for hang-up and keep its own timers running.
enum class AudioPacing {
  kDevice,  // a device callback drives the clock; wait on the endpoint
  kEngine,  // no clock: the engine's timer drives (WAV files)
};

// Glitches since Start, for call stats. Device endpoints update these from the audio
// callback (relaxed atomics); any thread may read a snapshot.
struct AudioGlitches {
  // Input: the device gave samples but the capture ring was full (the media thread
  // fell behind), or the device itself reported an input overflow.
  // Output: a block was written while the playout ring was full and was dropped.
  uint64_t overruns = 0;
  // Input: the device reported an input underflow.
  // Output: the device needed samples and the ring had too few, so it played silence
  // (counted once per callback that was short, not per sample; never before the first
  // block was written).
  uint64_t underruns = 0;
  uint64_t total() const { return overruns + underruns; }
};

}  // namespace parley::media
