#include "podman/image_loading.h"

#include <algorithm>
#include <map>
#include <set>

namespace wscp::podman {
namespace {

bool names_the_image(const ContainerInfo& facts, const std::string& name) {
  return name == facts.image_name || name == facts.image_id || name == "sha256:" + facts.image_id;
}

// Undoes a load that brought `loaded` (Podman's answer: the names it set,
// or an id for an untagged image), leaving alone whatever else changed on
// the node meanwhile: each name it moved goes back to the image that held
// it before, each name it added is taken off, and an image it brought that
// has no name left is removed. Returns what could not be undone.
std::string undo_load(PodmanClient& node, const std::vector<ImageInfo>& before,
                      const std::vector<std::string>& loaded) {
  std::string failed;
  auto note = [&](const Status& s) {
    if (!s.ok()) failed += (failed.empty() ? "" : "; ") + s.error().message();
  };
  std::map<std::string, std::string> held_before;  // name -> image id
  std::set<std::string> ids_before;
  for (const auto& image : before) {
    ids_before.insert(image.id);
    for (const auto& n : image.names) held_before[n] = image.id;
  }
  auto after = node.list_images();
  if (!after.ok()) return after.error().message();
  std::set<std::string> brought;
  for (const auto& n : loaded) {
    const std::string bare = n.starts_with("sha256:") ? n.substr(7) : n;
    for (const auto& image : *after) {
      const bool named = std::find(image.names.begin(), image.names.end(), n) != image.names.end();
      if (!named && image.id != bare) continue;
      if (!ids_before.count(image.id)) brought.insert(image.id);
      if (!named) continue;
      auto was = held_before.find(n);
      if (was == held_before.end()) note(node.untag_image(image.id, n));
      else if (was->second != image.id) note(node.tag_image(was->second, n));
    }
  }
  if (brought.empty()) return failed;
  auto now = node.list_images();
  if (!now.ok()) return now.error().message();
  for (const auto& image : *now) {
    if (brought.count(image.id) && image.names.empty()) note(node.remove_image(image.id));
  }
  return failed;
}

}  // namespace

Status load_image_checked(Engine& destination, ByteSource& archive, const ContainerInfo& facts,
                          const std::string& where, const OperationContext& ctx, bool* stream_failed) {
  if (stream_failed) *stream_failed = false;
  PodmanClient& node = destination.client();
  auto before = node.list_images();
  if (!before.ok()) return before.error();
  auto names = node.load_image(archive, ctx);
  if (!names.ok()) {
    if (stream_failed) *stream_failed = names.error().code() == ErrorCode::kIntegrity;
    return names.error();
  }
  std::string others;
  for (const auto& n : *names) {
    if (!names_the_image(facts, n)) others += (others.empty() ? "" : ", ") + n;
  }
  auto found = destination.has_image(facts);
  if (others.empty() && found.ok() && *found) return Ok{};

  std::string why = !others.empty() ? "it also named " + others
                    : !found.ok()   ? found.error().message()
                                    : "the image " + facts.image_id.substr(0, 12) + " was not among what it loaded";
  std::string undone = undo_load(node, *before, *names);
  return Error(ErrorCode::kIntegrity,
               "the image archive " + where + " does not hold just image " + facts.image_name + " (" +
                   facts.image_id.substr(0, 12) + "): " + why + "; it was refused and " +
                   (undone.empty() ? "what its load changed was undone"
                                   : "undoing what its load changed failed (" + undone + ")") +
                   ". Delete that object from the store: it is not what this system exports");
}

}  // namespace wscp::podman
