#pragma once

#include <string>

#include "common/result.h"

namespace wscp::kube {

// Where the API server is and how to authenticate to it: what a kubeconfig
// context or a pod's service account says. PEM data is held decoded; files are
// read by the HTTP client (CA, certificate, key) or by TokenSource (token).
struct KubeConfig {
  std::string server;                 // https://host:port
  std::string ca_pem;                 // trust these CAs ...
  std::string ca_file;                // ... or those in this file; neither: the system's
  bool insecure_skip_tls_verify = false;
  std::string client_cert_pem;        // mutual TLS: the certificate and key as PEM ...
  std::string client_key_pem;
  std::string client_cert_file;       // ... or in files
  std::string client_key_file;
  std::string token;                  // a bearer token ...
  std::string token_file;             // ... or a file holding one, re-read when it rotates
  std::string default_namespace = "default";  // the context's (or the service account's) namespace
  std::string origin;                 // where this came from, for messages
};

// Where a configuration may come from, in the usual order of precedence: an
// explicit kubeconfig (a command-line flag), $KUBECONFIG, in-cluster (the
// service host variables), ~/.kube/config.
struct ConfigSources {
  std::string kubeconfig;             // explicit path; wins over everything
  std::string context;                // context to use instead of current-context
  std::string kubeconfig_env;         // $KUBECONFIG (the first of a ':'-separated list)
  std::string service_host;           // $KUBERNETES_SERVICE_HOST
  std::string service_port;           // $KUBERNETES_SERVICE_PORT
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  std::string home;                   // $HOME, for ~/.kube/config

  // Fills the *_env/service_*/home fields from the process environment.
  static ConfigSources from_environment(std::string kubeconfig = {}, std::string context = {});
};

Result<KubeConfig> load_config(const ConfigSources& sources);

}  // namespace wscp::kube
