#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/object_store.h"
#include "store/s3/s3_config.h"
#include "store/store_events.h"

namespace wscp::store {

// Parses s3://bucket[/prefix][?option=value&...]. Options: region, endpoint,
// path_style (true/false; default true when an endpoint is given),
// part_size (bytes, or with a MiB/GiB suffix), concurrency, ca_file,
// credentials_dir, attempts, writer (the writer id whose uploads this
// store's sweep may abort; default: the host name). Never throws.
Result<s3::S3Config> parse_s3_url(std::string_view url);

// A valid writer id made of `name` (a host or node name): characters a
// writer id does not allow become '-'; a name over 64 is cut to 47 and a
// digest of the whole name added.
std::string writer_id_from(std::string_view name);

// Opens the store a URL names: file:///absolute/dir or s3://bucket/prefix
// (credentials resolved as s3::resolve_credentials describes). An S3
// store's client reports its retries and failures to `events`.
Result<std::unique_ptr<ObjectStore>> open_object_store(std::string_view url, StoreEvents events = {});

}  // namespace wscp::store
