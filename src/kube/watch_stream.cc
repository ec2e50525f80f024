#include "kube/watch_stream.h"

#include "kube/api_error.h"

namespace wscp::kube {

std::string_view to_string(WatchEventType t) {
  switch (t) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "?";
}

WatchEventSink::WatchEventSink(WatchHandler handler, std::string what, std::size_t max_line)
    : handler_(std::move(handler)), what_(std::move(what)), max_line_(max_line) {}

Status WatchEventSink::write(std::span<const std::byte> data) {
  std::string_view chunk(reinterpret_cast<const char*>(data.data()), data.size());
  while (!chunk.empty()) {
    const std::size_t nl = chunk.find('\n');
    const std::size_t take = nl == std::string_view::npos ? chunk.size() : nl;
    if (pending_.size() + take > max_line_) {
      return Error(ErrorCode::kInternal, what_ + ": a watch event is larger than " + std::to_string(max_line_) +
                                             " bytes; refusing to buffer it");
    }
    if (nl == std::string_view::npos) {
      pending_.append(chunk);
      return Ok{};
    }
    Status s = Ok{};
    if (pending_.empty()) {
      s = dispatch(chunk.substr(0, nl));
    } else {
      pending_.append(chunk.substr(0, nl));
      s = dispatch(pending_);
      pending_.clear();
    }
    if (!s) return s;
    chunk.remove_prefix(nl + 1);
  }
  return Ok{};
}

Status WatchEventSink::close() {
  if (pending_.find_first_not_of(" \t\r") != std::string::npos) {
    return Error(ErrorCode::kUnavailable, what_ + ": the watch stream ended in the middle of an event");
  }
  return Ok{};
}

Status WatchEventSink::dispatch(std::string_view line) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return Ok{};
  auto parsed = Json::parse(line, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("type") || !parsed["type"].is_string()) {
    return Error(ErrorCode::kInternal, what_ + ": a watch event is not {\"type\":...,\"object\":...}: " +
                                           std::string(line.substr(0, 200)));
  }
  const std::string type = parsed["type"].get<std::string>();
  WatchEvent event;
  if (type == "ADDED") event.type = WatchEventType::kAdded;
  else if (type == "MODIFIED") event.type = WatchEventType::kModified;
  else if (type == "DELETED") event.type = WatchEventType::kDeleted;
  else if (type == "BOOKMARK") event.type = WatchEventType::kBookmark;
  else if (type == "ERROR") return api_error_from_status(parsed.value("object", Json::object()), what_);
  else return Error(ErrorCode::kInternal, what_ + ": unknown watch event type \"" + type + "\"");
  event.object = std::move(parsed["object"]);
  ++events_;
  return handler_(event);
}

}  // namespace wscp::kube
