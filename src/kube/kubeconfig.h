#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "kube/config.h"

namespace wscp::kube {

// A kubeconfig file: the named context, or current-context when context is
// empty. Relative file paths are resolved against the file's directory.
// Errors name the file and the field that is wrong.
Result<KubeConfig> load_kubeconfig(const std::string& path, std::string_view context = {});

// The same from text; `origin` names it in messages, `base_dir` resolves
// relative paths.
Result<KubeConfig> parse_kubeconfig(std::string_view yaml, const std::string& origin, const std::string& base_dir,
                                    std::string_view context = {});

}  // namespace wscp::kube
