// libFuzzer target for the parsers of untrusted manifests (the store's
// checkpoint manifest and the project manifest): whatever the bytes, they
// return a value or an error; a value they accept is a valid manifest.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "podman/project.h"
#include "store/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto manifest = wscp::store::parse_manifest(text, nullptr);
  if (manifest.ok() && !wscp::store::validate_manifest(*manifest).ok()) std::abort();
  auto project = wscp::podman::parse_project_manifest(text);
  if (project.ok() && project->services.empty()) std::abort();
  return 0;
}
