#!/usr/bin/env bash
# Runs a real Kubernetes API server (etcd + kube-apiserver, no kubelet, no
# controller-manager) on loopback for the integration tests, the way envtest
# does: certificates made here with openssl, client-certificate
# authentication, RBAC authorization, service-account tokens.
#   kube.sh up STATE_DIR [FLAGS...]     build (cached), make certificates, start
#                                       etcd and kube-apiserver; write STATE_DIR/env
#   kube.sh stop STATE_DIR              stop the API server only (etcd keeps running)
#   kube.sh start STATE_DIR [FLAGS...]  start the API server again, same etcd and
#                                       certificates (e.g. --watch-cache=false)
#   kube.sh compact STATE_DIR           compact etcd to its current revision
#   kube.sh down STATE_DIR              stop everything and delete STATE_DIR
# FLAGS are extra kube-apiserver flags for that one start; a later `start`
# without flags runs the API server with the defaults again.
set -euo pipefail
usage="usage: kube.sh up|start|stop|compact|down STATE_DIR [kube-apiserver flags...]"
cmd=${1:?$usage}
state=${2:?$usage}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

log() { echo "kube.sh: $*" >&2; }

wait_until() {  # wait_until SECONDS COMMAND...: poll until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}

port() { sed -n "s/^$1=//p" "$state/ports"; }
bin() { echo "$(cat "$state/bin")/$1"; }
pki=$state/pki

admin_curl() {  # admin_curl PATH: GET PATH from the API server as the admin
  curl -sf --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$(port apiserver)$1"
}
etcd_post() {  # etcd_post PATH JSON: a call to etcd's HTTP/JSON gateway
  curl -sf --max-time 10 -X POST -H 'Content-Type: application/json' \
    "http://127.0.0.1:$(port etcd)$1" -d "$2"
}
apiserver_ready() { [[ $(admin_curl /readyz) == ok ]]; }
etcd_healthy() { curl -sf --max-time 2 "http://127.0.0.1:$(port etcd)/health" | grep -q '"health":"true"'; }
# The API server creates `default` after it reports ready; tests use it.
default_namespace() { admin_curl /api/v1/namespaces/default | grep -Eq '"phase": *"Active"'; }

stop_pid() {  # stop_pid NAME: SIGTERM the process in STATE/NAME.pid, SIGKILL after 30 s
  local file=$state/$1.pid pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  wait_until 30 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  wait_until 10 bash -c "! kill -0 $pid" || true
  rm -f "$file"
}

fail_with_log() {  # fail_with_log WHAT LOGFILE [NAME]: stop NAME, print the log tail, fail
  [[ -n ${3:-} ]] && stop_pid "$3"
  log "$1; last lines of $2:"
  tail -30 "$2" >&2
  exit 1
}

# ---- certificates --------------------------------------------------------

make_pki() {
  mkdir -p "$pki"
  local ext=$pki/ext.cnf
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=wscp-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  sign() {  # sign NAME SUBJECT EXTENSIONS
    printf '%s\n' "$3" >"$ext"
    openssl req -new -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
      -days 3650 -extfile "$ext" -out "$pki/$1.crt" 2>/dev/null
    rm -f "$pki/$1.csr"
  }
  local leaf="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment"
  sign apiserver "/CN=kube-apiserver" "$leaf
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign admin "/O=system:masters/CN=wscp-test-admin" "$leaf
extendedKeyUsage=clientAuth"
  # No group, and no RBAC binding: this user may do nothing but discovery.
  sign restricted "/CN=wscp-test-nobody" "$leaf
extendedKeyUsage=clientAuth"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  rm -f "$ext" "$pki/ca.srl"
  chmod 600 "$pki"/*.key
}

write_kubeconfig() {  # write_kubeconfig FILE USER CERT_NAME
  local b64="base64 -w0"
  cat >"$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: wscp-test
  cluster:
    server: https://127.0.0.1:$(port apiserver)
    certificate-authority-data: $($b64 "$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 "$pki/$3.crt")
    client-key-data: $($b64 "$pki/$3.key")
contexts:
- name: $2@wscp-test
  context:
    cluster: wscp-test
    user: $2
    namespace: default
current-context: $2@wscp-test
YAML
  chmod 600 "$1"
}

# ---- processes -----------------------------------------------------------

start_etcd() {
  local client peer
  client=$(port etcd); peer=$(port etcd_peer)
  setsid "$(bin etcd)" --name wscp-test --data-dir "$state/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "wscp-test=http://127.0.0.1:$peer" \
    --unsafe-no-fsync --log-level warn \
    >>"$state/etcd.log" 2>&1 </dev/null &
  echo $! >"$state/etcd.pid"
  wait_until 60 etcd_healthy || fail_with_log "etcd did not become healthy on 127.0.0.1:$client" "$state/etcd.log" etcd
}

start_apiserver() {  # start_apiserver [EXTRA FLAGS...]
  if [[ -f $state/apiserver.pid ]]; then
    if kill -0 "$(cat "$state/apiserver.pid")" 2>/dev/null; then
      log "the API server is already running (pid $(cat "$state/apiserver.pid")); stop it first"; exit 1
    fi
    rm -f "$state/apiserver.pid"  # it died: start it again
  fi
  mkdir -p "$state/apiserver-certs"
  echo "--- start $(date -u +%FT%TZ) $*" >>"$state/apiserver.log"
  setsid "$(bin kube-apiserver)" \
    --etcd-servers "http://127.0.0.1:$(port etcd)" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$(port apiserver)" \
    --cert-dir "$state/apiserver-certs" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --disable-admission-plugins ServiceAccount \
    --allow-privileged=true \
    --shutdown-watch-termination-grace-period 2s \
    "$@" \
    >>"$state/apiserver.log" 2>&1 </dev/null &
  echo $! >"$state/apiserver.pid"
  wait_until 120 apiserver_ready || fail_with_log "kube-apiserver did not become ready on https://127.0.0.1:$(port apiserver)" "$state/apiserver.log" apiserver
  wait_until 60 default_namespace || fail_with_log "kube-apiserver did not create the 'default' namespace" "$state/apiserver.log" apiserver
}

compact() {
  local revision answer
  answer=$(etcd_post /v3/kv/range '{"key":"AA==","count_only":true}') \
    || { log "etcd at 127.0.0.1:$(port etcd) did not answer a range request"; exit 1; }
  revision=$(sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p' <<<"$answer")
  [[ -n $revision ]] || { log "no revision in etcd's answer: $answer"; exit 1; }
  etcd_post /v3/kv/compaction "{\"revision\":\"$revision\",\"physical\":true}" >/dev/null \
    || { log "etcd refused to compact to revision $revision"; exit 1; }
  echo "$revision"
}

case $cmd in
  up)
    if [[ -f $state/apiserver.pid || -f $state/etcd.pid ]]; then stop_pid apiserver; stop_pid etcd; fi
    rm -rf "$state"; mkdir -p "$state"
    dir=$("$repo/scripts/install-kube")
    echo "$dir" >"$state/bin"
    for b in etcd kube-apiserver kubectl; do
      [[ -x $dir/$b ]] || { log "$dir/$b is missing: run scripts/install-kube"; exit 1; }
    done
    p=$("$repo/scripts/free-ports" 3)
    [[ -n $p ]] || { log "no three free loopback ports"; exit 1; }
    printf 'etcd=%s\netcd_peer=%s\napiserver=%s\n' "$p" $((p + 1)) $((p + 2)) >"$state/ports"
    make_pki
    write_kubeconfig "$state/admin.kubeconfig" wscp-test-admin admin
    write_kubeconfig "$state/restricted.kubeconfig" wscp-test-nobody restricted
    start_etcd
    start_apiserver "$@"
    cat >"$state/env" <<ENV
WSCP_KUBE_SERVER=https://127.0.0.1:$(port apiserver)
WSCP_KUBECONFIG_ADMIN=$state/admin.kubeconfig
WSCP_KUBECONFIG_RESTRICTED=$state/restricted.kubeconfig
WSCP_KUBE_CA=$pki/ca.crt
WSCP_KUBE_ADMIN_CERT=$pki/admin.crt
WSCP_KUBE_ADMIN_KEY=$pki/admin.key
WSCP_KUBE_RESTRICTED_USER=wscp-test-nobody
WSCP_KUBE_SA_ISSUER=https://kubernetes.default.svc.cluster.local
WSCP_ETCD_ENDPOINT=http://127.0.0.1:$(port etcd)
WSCP_KUBECTL=$dir/kubectl
WSCP_KUBE_BIN_DIR=$dir
ENV
    ;;
  start) start_apiserver "$@" ;;
  stop) stop_pid apiserver ;;
  compact) compact ;;
  down) stop_pid apiserver; stop_pid etcd; rm -rf "$state" ;;
  *) log "unknown command '$cmd'; $usage"; exit 2 ;;
esac
