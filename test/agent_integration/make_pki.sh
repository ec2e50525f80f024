#!/usr/bin/env bash
# Makes the certificates the API tests use, with the openssl command line
# (independently of the agent's own certificate code):
#   ca.crt/.key            the CA whose clients may use the API
#   client.crt/.key        CN=wscp-controller, from ca
#   intruder.crt/.key      CN=intruder, from ca (a subject not allowed)
#   expired.crt/.key       CN=wscp-controller, from ca, valid only in 2020
#   other-ca.crt/.key      another CA
#   other.crt/.key         CN=wscp-controller, from other-ca
# Usage: make_pki.sh DIR
set -euo pipefail
dir=${1:?usage: make_pki.sh DIR}
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; chmod 600 "$1.key"; }

ca() {  # ca NAME CN
  key "$1"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt"
}

client() {  # client NAME CN CA
  key "$1"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 30 -sha256 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}

ca ca wscp-test-ca
ca other-ca wscp-other-ca
client client wscp-controller ca
client intruder intruder ca
client other wscp-controller other-ca

# An expired certificate needs dates in the past: `openssl ca` sets them.
key expired
openssl req -new -key expired.key -subj "/CN=wscp-controller" -out expired.csr
mkdir -p ca-db && : >ca-db/index.txt && echo 1000 >ca-db/serial
cat >ca-db/ca.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = $PWD/ca-db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $PWD/ca.crt
private_key = $PWD/ca.key
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = client_ext
[any]
commonName = supplied
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
openssl ca -batch -config ca-db/ca.cnf -in expired.csr -out expired.crt \
  -startdate 20200101000000Z -enddate 20200102000000Z -notext 2>/dev/null
rm -f ./*.csr ./*.ext
