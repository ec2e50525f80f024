# Sourced by the benchmarks that run the controller: a real API server
# (etcd + kube-apiserver, as the tests run them) with the CRD, the agents'
# and the workspaces' namespaces, Ready Nodes and the test PKI. Reads $repo
# and $work; cluster_up sets $kubectl and exports KUBECONFIG (the admin's).

agents_ns=wscp-system
ns=bench

# cluster_up NODE...: the API server in $work/kube, the Nodes registered
# and Ready (no kubelet runs), the PKI in $work/pki.
cluster_up() {
  "$repo/test/kube_integration/kube.sh" up "$work/kube" >"$work/kube.log" 2>&1 ||
    { tail -20 "$work/kube.log" >&2; echo "the API server did not start (see $work/kube.log)" >&2; return 1; }
  set -a; source "$work/kube/env"; set +a
  export KUBECONFIG=$WSCP_KUBECONFIG_ADMIN
  kubectl=$WSCP_KUBECTL
  $kubectl apply -f "$repo/crds/wscp.dev_workspacecheckpoints.yaml" >/dev/null
  $kubectl wait --for condition=established --timeout=60s crd/workspacecheckpoints.wscp.dev >/dev/null
  $kubectl create namespace "$agents_ns" >/dev/null
  $kubectl create namespace "$ns" >/dev/null
  python3 - "$@" >"$work/nodes.json" <<'PY'
import json, sys
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}} for n in sys.argv[1:]]}))
PY
  $kubectl apply -f "$work/nodes.json" >/dev/null
  local ready='{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"bench"}]}}' n
  for n in "$@"; do
    $kubectl patch node "$n" --subresource=status --type=merge -p "$ready" >/dev/null
    $kubectl patch node "$n" --type=merge -p '{"spec":{"taints":null}}' >/dev/null
  done
  "$repo/test/agent_integration/make_pki.sh" "$work/pki" >/dev/null 2>&1
}

cluster_down() { "$repo/test/kube_integration/kube.sh" down "$work/kube" >/dev/null 2>&1; }

# agent_config NODE PORT SOCKET STORE_YAML [EXTRA_YAML]: an agent's
# configuration, registered in $agents_ns with the admin's kubeconfig.
agent_config() {
  local node=$1 port=$2 socket=$3 stores=$4 extra=${5:-} dir=$work/agents/$1
  mkdir -p "$dir"
  cat >"$dir/agent.yaml" <<YAML
version: 1
node_name: $node
podman_socket: $socket
journal_dir: $dir/journal
settle_period: 1s
api:
  address: 127.0.0.1
  port: $port
  tls:
    client_ca: $work/pki/ca.crt
    key: $dir/tls/serving.key
    cert: $dir/tls/serving.crt
    serving_names: [127.0.0.1]
stores:
$stores
metrics: {enabled: false}
logging: {format: json, level: warning}
kubernetes:
  kubeconfig: $KUBECONFIG
  namespace: $agents_ns
$extra
YAML
  echo "$dir/agent.yaml"
}

# wait_for_leases COUNT: until COUNT agents registered.
wait_for_leases() {
  local deadline=$((SECONDS + 60))
  until (( $($kubectl get leases -n "$agents_ns" --no-headers 2>/dev/null | wc -l) >= $1 )); do
    (( SECONDS < deadline )) || { echo "the agents did not register within 60 s" >&2; return 1; }
    sleep 0.5
  done
}

# controller_args METRICS_PORT IDENTITY: wscp-controller's arguments.
controller_args() {
  echo --kubeconfig "$KUBECONFIG" --namespace "$agents_ns" --client-cert "$work/pki/client.crt" \
    --client-key "$work/pki/client.key" --identity "$2" --metrics-address 127.0.0.1 --metrics-port "$1" \
    --log-format json
}
