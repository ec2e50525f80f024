#!/usr/bin/env bash
# The Helm chart (charts/wscp) against the "kube" fixture's API server:
# helm lint; values the schema refuses; every optional part renders; the
# default rendering applied to the real API server; least-privilege RBAC
# checked with `kubectl auth can-i`; the Lease policy admitted by the API
# server and enforced (an agent may write only its own node's Lease).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
agent=${1:?usage: chart_test.sh WSCP_AGENT_BINARY}
state=${WSCP_KUBE_STATE:?run through ctest (fixture kube)}
# shellcheck disable=SC1091
source "$state/env"
helm="$WSCP_KUBE_BIN_DIR/helm"
kubectl=("$WSCP_KUBECTL" --kubeconfig "$WSCP_KUBECONFIG_ADMIN")
chart=$root/charts/wscp
work=$(mktemp -d)
ns=wscp-chart-$$
trap '"${kubectl[@]}" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
template() { "$helm" template t "$chart" --namespace "$ns" --kube-version 1.34.0 "$@" 2>"$work/err"; }

echo "== helm lint"
"$helm" lint --strict "$chart" --kube-version 1.34.0 2>&1 | grep -v 'found symbolic link'

echo "== the schema refuses bad values"
for bad in agent.memoryBudget=lots controller.replicas=0 controller.keepLast=-1 tls.mode=sometimes \
  agent.apiPort=70000 nosuchkey=1; do
  if template --set "$bad" >/dev/null; then fail "--set $bad was accepted"; fi
  grep -q "values don't meet the specifications" "$work/err" || fail "--set $bad: $(cat "$work/err")"
done

echo "== every optional part renders"
template --set tls.mode=certManager --set monitoring.serviceMonitor.enabled=true \
  --set monitoring.prometheusRule.enabled=true --set monitoring.grafanaDashboard.enabled=true >"$work/full.yaml"
for kind in Certificate Issuer ServiceMonitor PrometheusRule Service; do
  grep -q "^kind: $kind\$" "$work/full.yaml" || fail "no $kind rendered"
done
python3 - "$work/full.yaml" <<'PY'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dash = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")]
assert dash, "no dashboard ConfigMap"
json.loads(dash[0]["data"]["wscp.json"])  # the dashboard is valid JSON
PY
template --set controller.keepLast=3 | grep -q -- "- --keep-last=3" || fail "controller.keepLast is not passed on"
template --set tls.mode=existing --set tls.existingSecret=mine >"$work/existing.yaml"
grep -q "secretName: mine" "$work/existing.yaml" || fail "tls.existingSecret not used"
if template --set tls.mode=existing >/dev/null; then fail "tls.mode=existing without a Secret was accepted"; fi
grep -q "tls.existingSecret is required" "$work/err" || fail "tls.mode=existing: $(cat "$work/err")"
if template --set agent.metricsPort=9443 >/dev/null; then fail "agent.metricsPort = apiPort was accepted"; fi
grep -q "must differ" "$work/err" || fail "agent.metricsPort = apiPort: $(cat "$work/err")"
if template --set agent.archiveKeySecret= >/dev/null; then fail "an S3 store without a keyring was accepted"; fi
grep -q "is an S3 store: set agent.archiveKeySecret" "$work/err" || fail "S3 without a keyring: $(cat "$work/err")"
template --set agent.archiveKeySecret= --set 'agent.stores.main.url=file:///var/lib/wscp/store' >/dev/null \
  || fail "a file:// store without a keyring was refused: $(cat "$work/err")"

echo "== the agent accepts the configuration the chart renders"
for set in "" "--set agent.storeCredentialsSecret=s3 --set agent.notices.aws=true"; do
  # shellcheck disable=SC2086
  template $set | python3 -c '
import sys, yaml
for d in yaml.safe_load_all(sys.stdin):
    if d and d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-agent"):
        print(d["data"]["agent.yaml"].replace("__NODE_NAME__", "node-1").replace("__POD_IP__", "10.0.0.7"))
' >"$work/agent.yaml"
  "$agent" serve --config "$work/agent.yaml" --check-config >"$work/check.out" 2>&1 || fail "agent config ($set): $(cat "$work/check.out")"
done
# The check is not a rubber stamp: the same S3 store without its keyring is refused.
grep -v 'keyring:' "$work/agent.yaml" >"$work/no-key.yaml"
if "$agent" serve --config "$work/no-key.yaml" --check-config >"$work/check.out" 2>&1; then
  fail "the agent accepted an S3 store without a keyring"
fi
grep -q "shared store" "$work/check.out" || fail "no key: $(cat "$work/check.out")"

echo "== the default rendering applies to the API server"
"${kubectl[@]}" create namespace "$ns" >/dev/null
template --include-crds >"$work/default.yaml"
"${kubectl[@]}" apply --server-side -n "$ns" -f "$work/default.yaml" >"$work/apply.out" || fail "$(cat "$work/apply.out")"
"${kubectl[@]}" get -n "$ns" daemonset/t-wscp-agent deployment/t-wscp-controller secret/t-wscp-controller-tls >/dev/null
# The generated certificate is a client certificate of the CA the agents trust.
"${kubectl[@]}" get -n "$ns" secret t-wscp-controller-tls -o jsonpath='{.data.tls\.crt}' | base64 -d >"$work/tls.crt"
"${kubectl[@]}" get -n "$ns" secret t-wscp-controller-tls -o jsonpath='{.data.ca\.crt}' | base64 -d >"$work/ca.crt"
openssl verify -CAfile "$work/ca.crt" -purpose sslclient "$work/tls.crt" >/dev/null || fail "the controller's certificate does not verify as a client of the CA"
openssl x509 -in "$work/tls.crt" -noout -subject | grep -q "CN *= *wscp-controller" || fail "subject is not wscp-controller"

echo "== least privilege"
can() { "${kubectl[@]}" auth can-i --as="system:serviceaccount:$ns:$1" "${@:2}" 2>/dev/null || true; }
expect() { local want=$1; shift; local got; got=$(can "$@"); [[ $got == "$want" ]] || fail "can-i $* = $got, want $want"; }
expect yes t-wscp-controller update workspacecheckpoints.wscp.dev/status -n team-a
expect yes t-wscp-controller create workspacecheckpoints.wscp.dev -n team-a
expect yes t-wscp-controller watch nodes
expect no t-wscp-controller update nodes
expect yes t-wscp-controller delete workspacecheckpoints.wscp.dev -n team-a  # ttlSecondsAfterFinished
expect no t-wscp-controller deletecollection workspacecheckpoints.wscp.dev -n team-a
expect no t-wscp-controller get secrets -n "$ns"
expect yes t-wscp-controller update leases.coordination.k8s.io -n "$ns"
expect yes t-wscp-controller list leases.coordination.k8s.io -n "$ns"
expect yes t-wscp-controller watch leases.coordination.k8s.io -n "$ns"
expect yes t-wscp-controller create events.events.k8s.io -n team-a
expect yes t-wscp-controller patch events.events.k8s.io -n team-a
expect no t-wscp-controller update leases.coordination.k8s.io -n kube-system
expect yes t-wscp-agent create leases.coordination.k8s.io -n "$ns"
expect no t-wscp-agent delete leases.coordination.k8s.io -n "$ns"
expect no t-wscp-agent list nodes
expect no t-wscp-agent get secrets -n "$ns"
expect no t-wscp-agent get workspacecheckpoints.wscp.dev -n team-a

echo "== the Lease policy: an agent writes only its own node's Lease"
lease() {
  cat <<YAML
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: wscp-agent-$1, namespace: $ns}
spec: {holderIdentity: $1/test, leaseDurationSeconds: 20}
YAML
}
# The agent's pod token as the API server sees it: its service account,
# with the pod's node in the user info (kubectl impersonates through a
# kubeconfig, which can carry the extra field).
impersonating() {  # impersonating FILE NODE: a kubeconfig acting as the agent on NODE ("" none)
  python3 - "$WSCP_KUBECONFIG_ADMIN" "$1" "system:serviceaccount:$ns:t-wscp-agent" "$2" <<'PY'
import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
for user in config["users"]:
    user["user"]["as"] = sys.argv[3]
    user["user"]["as-groups"] = ["system:serviceaccounts", "system:authenticated"]
    if sys.argv[4]:
        user["user"]["as-user-extra"] = {"authentication.kubernetes.io/node-name": [sys.argv[4]]}
yaml.safe_dump(config, open(sys.argv[2], "w"))
PY
}
impersonating "$work/agent-a.kubeconfig" node-a
impersonating "$work/agent-none.kubeconfig" ""
as_agent=(--kubeconfig "$work/agent-a.kubeconfig")
# The policy is enforced once the API server has loaded it.
for _ in $(seq 1 50); do
  if ! lease node-b | "$WSCP_KUBECTL" "${as_agent[@]}" create -f - >"$work/deny.out" 2>&1; then break; fi
  "${kubectl[@]}" delete lease -n "$ns" wscp-agent-node-b >/dev/null 2>&1 || true
  sleep 0.2
done
grep -q "an agent may write only the Lease of the node its pod runs on" "$work/deny.out" || fail "another node's Lease: $(cat "$work/deny.out")"
lease node-a | "$WSCP_KUBECTL" "${as_agent[@]}" create -f - >"$work/allow.out" 2>&1 || fail "its own Lease: $(cat "$work/allow.out")"
# Renewing (a PUT, as the agent does): its own Lease passes, another
# node's (made by the admin) is refused.
renew() {  # renew NODE: PUT the Lease back with a new annotation, as the agent
  "${kubectl[@]}" get lease -n "$ns" "wscp-agent-$1" -o json |
    python3 -c 'import json,sys; o=json.load(sys.stdin); o["metadata"].setdefault("annotations",{})["wscp.dev/renewed"]="1"; print(json.dumps(o))' |
    "$WSCP_KUBECTL" "${as_agent[@]}" replace -f -
}
renew node-a >"$work/renew.out" 2>&1 || fail "updating its own Lease: $(cat "$work/renew.out")"
lease node-b | "${kubectl[@]}" create -f - >/dev/null
if renew node-b >"$work/other.out" 2>&1; then fail "an agent updated another node's Lease"; fi
grep -q "an agent may write only the Lease" "$work/other.out" || fail "another node's Lease, update: $(cat "$work/other.out")"
# Without a node-bound token (no node name) it writes none.
if lease node-c | "$WSCP_KUBECTL" --kubeconfig "$work/agent-none.kubeconfig" create -f - >"$work/none.out" 2>&1; then
  fail "a Lease without a node-bound token was admitted"
fi
grep -q "an agent may write only the Lease" "$work/none.out" || fail "no node name: $(cat "$work/none.out")"
echo "chart: all checks passed"
