#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wscp::store::s3 {

// Just enough XML for S3's flat responses (ListObjectsV2,
// ListMultipartUploads, InitiateMultipartUpload, Error): element text by
// tag name, no attributes, namespaces ignored, entities decoded.
std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag);
std::optional<std::string> xml_text(std::string_view xml, std::string_view tag);
std::string xml_escape(std::string_view text);

}  // namespace wscp::store::s3
