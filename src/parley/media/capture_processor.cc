// CaptureProcessor: the input callback's 10 ms re-blocking, far-end feeding and clean-up.
#include "parley/media/capture_processor.h"

#include <algorithm>
#include <cmath>

namespace parley::media {

CaptureProcessor::CaptureProcessor(std::unique_ptr<AudioProcessor> processor,
                                   std::shared_ptr<FarEndReference> far_end)
    : processor_(std::move(processor)), far_end_(std::move(far_end)) {
  PARLEY_CHECK(processor_ != nullptr);
}

bool CaptureProcessor::Push(std::span<const Sample> mono, TimePoint first_sample_time, SpscRing<Sample>& out) {
  bool all_taken = true;
  size_t done = 0;
  while (done < mono.size()) {
    if (fill_ == 0) {
      block_time_ = first_sample_time +
                    Duration{static_cast<int64_t>(done) * 1'000'000'000 / kSampleRateHz};
    }
    const size_t n = std::min(mono.size() - done, kBlockSamples - fill_);
    std::copy_n(mono.data() + done, n, block_.data() + fill_);
    fill_ += n;
    done += n;
    if (fill_ < kBlockSamples) break;
    fill_ = 0;
    ProcessBlock();
    if (out.WriteAvailable() < kBlockSamples) {
      all_taken = false;  // drop the whole block: the consumer reads whole blocks
      continue;
    }
    out.Write(std::span<const Sample>(block_));
  }
  return all_taken;
}

void CaptureProcessor::ProcessBlock() {
  if (far_end_ != nullptr) {
    uint64_t fed = 0;
    // Far-end blocks go in kFarEndLead before their playout: the echo of the newest one
    // then arrives (lead - age) from now, which is the stream delay to report.
    const std::optional<Duration> age =
        far_end_->FeedDue(block_time_ + kFarEndLead, [&](std::span<const Sample, kBlockSamples> played) {
          processor_->AnalyzeFarEnd(played);
          ++fed;
        });
    if (age) {
      last_delay_ms_ = static_cast<int>(std::chrono::duration_cast<milliseconds>(kFarEndLead - *age).count());
      last_delay_ms_ = std::max(last_delay_ms_, 0);
    }
    if (fed > 0) fed_.fetch_add(fed, std::memory_order_relaxed);
  }
  processor_->ProcessCapture(block_, last_delay_ms_);
  Publish();
}

void CaptureProcessor::Publish() {
  const AudioProcessorStats s = processor_->stats();
  blocks_.fetch_add(1, std::memory_order_relaxed);
  estimated_delay_ms_.store(s.estimated_echo_delay_ms.value_or(-1), std::memory_order_relaxed);
  reported_delay_ms_.store(s.reported_stream_delay_ms, std::memory_order_relaxed);
  erle_centi_db_.store(s.erle_db ? static_cast<int>(std::lround(*s.erle_db * 100)) : INT_MIN,
                       std::memory_order_relaxed);
  echo_present_.store(s.echo_present, std::memory_order_relaxed);
}

CaptureProcessingStats CaptureProcessor::stats() const {
  CaptureProcessingStats s;
  s.config = processor_->config();
  const int estimated = estimated_delay_ms_.load(std::memory_order_relaxed);
  if (estimated >= 0) s.processor.estimated_echo_delay_ms = estimated;
  s.processor.reported_stream_delay_ms = reported_delay_ms_.load(std::memory_order_relaxed);
  const int erle = erle_centi_db_.load(std::memory_order_relaxed);
  if (erle != INT_MIN) s.processor.erle_db = erle / 100.0;
  s.processor.echo_present = echo_present_.load(std::memory_order_relaxed);
  s.blocks_processed = blocks_.load(std::memory_order_relaxed);
  s.far_end_blocks_fed = fed_.load(std::memory_order_relaxed);
  if (far_end_ != nullptr) {
    s.far_end_blocks_dropped = far_end_->dropped_blocks();
    s.far_end_blocks_stale = far_end_->stale_blocks();
  }
  return s;
}

}  // namespace parley::media
