#include "store/object_store.h"

#include <vector>

namespace wscp::store {

Status ObjectStore::put(const std::string& key, const std::string& data, const OperationContext& ctx) {
  auto sink = create(key, ctx);
  if (!sink) return sink.error();
  auto st = (*sink)->write(std::as_bytes(std::span(data.data(), data.size())));
  if (!st) return st;
  return (*sink)->close();
}

Status ObjectStore::create_exclusive(const std::string& key, std::string_view, const OperationContext&) {
  return Error(ErrorCode::kUnsupported, describe() + " cannot create " + key + " only if it is absent");
}

Status ObjectStore::replace_if_match(const std::string& key, std::string_view, const std::string&,
                                     const OperationContext&) {
  return Error(ErrorCode::kUnsupported, describe() + " cannot replace " + key + " only if it is unchanged");
}

Status ObjectStore::remove_if_match(const std::string& key, const std::string&) {
  return Error(ErrorCode::kUnsupported, describe() + " cannot remove " + key + " only if it is unchanged");
}

Result<std::chrono::system_clock::time_point> ObjectStore::now() {
  return Error(ErrorCode::kUnsupported, describe() + " has no clock of its own");
}

Status validate_key(const std::string& key) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, "object key '" + key + "' is not allowed: " + why);
  };
  if (key.empty()) return bad("it is empty");
  if (key.size() > 1024) return bad("it is longer than 1024 bytes");
  if (key.front() == '/') return bad("it is an absolute path");
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) return bad("it contains a control character");
    if (c == '\\') return bad("it contains a backslash");
  }
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    std::string_view segment(key.data() + start, end - start);
    if (segment.empty()) return bad("it has an empty path segment");
    if (segment == "." || segment == "..") return bad("it has a '.' or '..' segment (path traversal)");
    start = end + 1;
  }
  return Ok{};
}

Status put_object(ObjectStore& store, const std::string& key, std::string_view data, const OperationContext& ctx) {
  auto writer = store.create(key, ctx);
  if (!writer) return writer.error();
  auto st = (*writer)->write(std::as_bytes(std::span(data.data(), data.size())));
  if (!st) return st;
  return (*writer)->close();
}

Result<std::string> get_object(ObjectStore& store, const std::string& key, std::size_t max_size,
                               const OperationContext& ctx) {
  auto reader = store.open(key, ctx);
  if (!reader) return reader.error();
  std::string out;
  std::vector<std::byte> buf(64 * 1024);
  for (;;) {
    auto n = (*reader)->read(buf);
    if (!n) return n.error();
    if (*n == 0) return out;
    if (out.size() + *n > max_size) {
      return Error(ErrorCode::kInvalidArgument,
                   "object " + key + " is larger than the " + std::to_string(max_size) + " bytes allowed");
    }
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

Status pump(ByteSource& from, ByteSink& to, const OperationContext& ctx, std::size_t block) {
  std::vector<std::byte> buf(block);
  for (;;) {
    if (ctx.cancelled()) return Error(ErrorCode::kCancelled, "cancelled by the caller");
    auto n = from.read(buf);
    if (!n) return n.error();
    if (*n == 0) return to.close();
    auto st = to.write(std::span(buf).first(*n));
    if (!st) return st;
  }
}

}  // namespace wscp::store
