#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "common/result.h"
#include "store/checkpoint_store.h"
#include "store/object_store.h"
#include "store/store_events.h"

namespace wscp::agent {

// Where archives go and how they are kept: the command-line options shared
// by the verbs that move archives.
struct StoreArgs {
  std::string via;  // a store URL (file:///dir, s3://bucket/prefix?...) or a directory
  std::string compression = "zstd";
  int compression_level = 3;
  std::string encryption_key_file;
  std::string manifest_key_file;
  double segment_mib = 8;  // stored MiB per segment object
  store::StoreEvents events;  // who hears of the store's retries and failures (the daemon's metrics)

  void add_to(CLI::App& cmd);
  // The store's URL: a plain directory becomes file://<absolute path>.
  std::string url() const;
  // Both refuse an s3:// store without --encryption-key or --manifest-key
  // (kInvalidArgument saying what to pass); a directory may go without.
  Result<std::unique_ptr<store::ObjectStore>> open_store() const;
  Result<store::CheckpointStoreOptions> store_options() const;
  Status check_keys() const;
};

}  // namespace wscp::agent
