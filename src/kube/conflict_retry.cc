#include "kube/conflict_retry.h"

#include "kube/api_error.h"

namespace wscp::kube {

Result<Json> modify(KubeClient& client, const Resource& r, std::string_view ns, std::string_view name,
                    const Mutation& mutate, const ModifyOptions& options) {
  std::optional<Error> last;
  for (int attempt = 0; attempt < std::max(1, options.max_attempts); ++attempt) {
    auto object = client.get(r, ns, name, options);
    if (!object) return object.error();
    auto changed = mutate(*object);
    if (!changed) return changed.error();
    if (!*changed) return object;
    auto written = options.status ? client.update_status(r, *object, options) : client.update(r, *object, options);
    if (written || !is_conflict(written.error())) return written;
    last = written.error();
  }
  return Error(ErrorCode::kConflict, last->message() + " (still conflicting after " +
                                         std::to_string(options.max_attempts) + " attempts)");
}

}  // namespace wscp::kube
