#pragma once

#include <memory>
#include <string>

#include "common/operation.h"
#include "common/stream.h"
#include "store/s3/s3_client.h"

namespace wscp::store::s3 {

// While a multipart upload is open, a marker object under this directory (in
// the store's prefix), in a folder per writer id, records its key and upload
// id, for sweep_incomplete(): .wscp-uploads/<writer id>/<random>.
inline constexpr std::string_view kUploadMarkerDir = ".wscp-uploads/";
// Metadata of a multipart upload's object: the writer that made it, and a
// random token that tells this upload's object from any other, so that a
// CompleteMultipartUpload retried after a lost answer (NoSuchUpload) can
// recognise that it did complete.
inline constexpr std::string_view kWriterHeader = "x-amz-meta-wscp-writer";
inline constexpr std::string_view kUploadTokenHeader = "x-amz-meta-wscp-upload";
// Metadata of an object made by create_exclusive (same purpose).
inline constexpr std::string_view kCreateTokenHeader = "x-amz-meta-wscp-token";

// `ctx` must outlive the writer.
std::unique_ptr<ByteSink> make_multipart_writer(std::shared_ptr<S3Client> client, std::string full_key,
                                                const OperationContext& ctx);

}  // namespace wscp::store::s3
