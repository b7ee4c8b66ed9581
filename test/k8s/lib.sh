# Sourced by up.sh and real-node.sh: certificates signed by the rig's CA in $PKI.
#   mkcert NAME CN ORG SAN USAGE   makes $PKI/NAME.{key,crt} once (ORG and SAN may be "")
mkcert() {
  local name=$1 cn=$2 org=$3 san=$4 usage=$5
  [ -f "$PKI/$name.crt" ] && return 0
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org/CN=$cn"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } > "$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
}
# an API call as the rig's admin
api() { curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }
