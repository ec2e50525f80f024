#pragma once

#include <memory>

#include "http/client.h"
#include "store/object_store.h"
#include "store/s3/s3_client.h"

namespace wscp::store::s3 {

// ObjectStore on S3 (AWS, MinIO and compatible servers).
//  - create(): a streaming multipart upload. Parts of config.part_size (growing
//    every 1,000 parts) are uploaded by config.concurrency threads; memory is
//    bounded by (concurrency + 1) x part size. A stream smaller than one part
//    is a single PUT. An upload that is not completed is aborted; one whose
//    abort could not reach the server is left for sweep_incomplete().
//  - open(): parallel ranged GETs of part-size ranges, concurrency ahead, the
//    same memory bound; each range is pinned to the object's ETag.
std::unique_ptr<ObjectStore> make_s3_store(std::shared_ptr<S3Client> client);

}  // namespace wscp::store::s3
