#!/usr/bin/env bash
# Builds a throw-away RFC 3161 TSA with the openssl CLI in directory $1:
#   ca.crt/ca.key        test root, valid 2019..2039 (so back-dated tokens chain)
#   tsa.crt/tsa.key      TSA signer, extendedKeyUsage = critical,timeStamping
#   old-tsa.crt/.key     TSA signer valid only during 2020 (long-term validation)
#   other-ca.crt         an unrelated root; other-tsa.crt/.key chains to it
#   tsa.cnf, other.cnf   `openssl ts -reply` configurations
# EC P-256 keys: fast to make, and OpenSSL 3.0's ts cannot sign with SM2.
set -euo pipefail
d=$1
mkdir -p "$d"
cd "$d"

mkca() {  # name subject
  local n=$1 subj=$2
  mkdir -p "$n.db/new"
  : > "$n.db/index.txt"
  echo 1000 > "$n.db/serial"
  cat > "$n.ca.cnf" <<CNF
[ ca ]
default_ca = dflt
[ dflt ]
dir = $d/$n.db
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
organizationName = optional
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ tsa_ext ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$n.key" 2>/dev/null
  openssl req -new -key "$n.key" -subj "$subj" -out "$n.csr"
  openssl ca -batch -notext -selfsign -config "$n.ca.cnf" -keyfile "$n.key" -in "$n.csr" -out "$n.crt" \
    -startdate 20190101000000Z -enddate 20391231000000Z -extensions ca_ext 2>/dev/null
}

mktsa() {  # ca name subject start end
  local ca=$1 n=$2 subj=$3 start=$4 end=$5
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$n.key" 2>/dev/null
  openssl req -new -key "$n.key" -subj "$subj" -out "$n.csr"
  openssl ca -batch -notext -config "$ca.ca.cnf" -cert "$ca.crt" -keyfile "$ca.key" -in "$n.csr" -out "$n.crt" \
    -startdate "$start" -enddate "$end" -extensions tsa_ext 2>/dev/null
}

mktsacnf() {  # cnf signer ca
  cat > "$1" <<CNF
[ tsa ]
default_tsa = t
[ t ]
dir = $d
serial = \$dir/$2.serial
crypto_device = builtin
signer_cert = \$dir/$2.crt
certs = \$dir/$3.crt
signer_key = \$dir/$2.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sm3, sha384
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
  echo 01 > "$2.serial"
}

mkca ca "/O=xborder test/CN=Test TSA Root"
mkca other-ca "/O=someone else/CN=Other Root"
mktsa ca tsa "/O=xborder test/CN=Test TSA" 20190101000000Z 20391231000000Z
mktsa ca old-tsa "/O=xborder test/CN=Old TSA 2020" 20200101000000Z 20201231235959Z
mktsa other-ca other-tsa "/O=someone else/CN=Other TSA" 20190101000000Z 20391231000000Z
mktsacnf tsa.cnf tsa ca
mktsacnf other.cnf other-tsa other-ca
echo ok
