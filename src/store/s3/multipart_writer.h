#pragma once

#include <memory>
#include <string>

#include "common/operation.h"
#include "common/stream.h"
#include "store/s3/s3_client.h"

namespace wscp::store::s3 {

// While a multipart upload is open, a marker object under this directory (in
// the store's prefix) records its key and upload id, for sweep_incomplete().
inline constexpr std::string_view kUploadMarkerDir = ".wscp-uploads/";

// `ctx` must outlive the writer.
std::unique_ptr<ByteSink> make_multipart_writer(std::shared_ptr<S3Client> client, std::string full_key,
                                                const OperationContext& ctx);

}  // namespace wscp::store::s3
