#pragma once

#include <functional>
#include <string_view>

#include "kube/kube_client.h"

namespace wscp::kube {

// Changes `object` in place; returns false when nothing needs to change (no
// write is made then), or an error to give up with.
using Mutation = std::function<Result<bool>(Json& object)>;

struct ModifyOptions : WriteOptions {
  int max_attempts = 5;
  bool status = false;  // write through the status subresource
};

// Read-modify-write that retries on conflict: gets the object, applies
// `mutate`, and updates it with the resourceVersion it read; when someone else
// changed it in between (is_conflict), reads and mutates it again, up to
// max_attempts times. Returns the object as stored.
Result<Json> modify(KubeClient& client, const Resource& r, std::string_view ns, std::string_view name,
                    const Mutation& mutate, const ModifyOptions& options = {});

}  // namespace wscp::kube
