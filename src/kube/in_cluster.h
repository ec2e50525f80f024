#pragma once

#include <string>

#include "common/result.h"
#include "kube/config.h"

namespace wscp::kube {

// The configuration of a pod: the API server at service_host:service_port
// (KUBERNETES_SERVICE_HOST/PORT), the service account's token (re-read when
// it rotates), CA and namespace from service_account_dir (normally
// /var/run/secrets/kubernetes.io/serviceaccount; tests point it elsewhere).
Result<KubeConfig> in_cluster_config(const std::string& service_host, const std::string& service_port,
                                     const std::string& service_account_dir);

}  // namespace wscp::kube
