#pragma once

#include <cstddef>
#include <string>

#include "common/stream.h"
#include "kube/kube_client.h"

namespace wscp::kube {

// The body of a watch: one JSON object per line ({"type":..., "object":...}),
// arriving in chunks that split lines anywhere. Each complete line becomes a
// WatchEvent for the handler; an ERROR event ends the stream with its Status
// as an Error (api_error), and so does a line longer than max_line.
class WatchEventSink final : public ByteSink {
 public:
  static constexpr std::size_t kDefaultMaxLine = 16u << 20;

  WatchEventSink(WatchHandler handler, std::string what, std::size_t max_line = kDefaultMaxLine);

  Status write(std::span<const std::byte> data) override;
  // The end of the body: a partial event left over means the stream broke.
  Status close() override;

  std::size_t events() const { return events_; }

 private:
  Status dispatch(std::string_view line);

  WatchHandler handler_;
  std::string what_;
  std::size_t max_line_;
  std::string pending_;
  std::size_t events_ = 0;
};

}  // namespace wscp::kube
