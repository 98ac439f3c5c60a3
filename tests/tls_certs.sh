#!/bin/sh
# tls_certs.sh DIR - make the certificates the TLS suites and benchmarks
# use, in DIR (a fresh temporary directory), with certtool (gnutls-bin).
# Nothing here is ever committed: every key is made anew on each run.
#
#   ca.pem ca.key           the test CA
#   other-ca.pem            a CA nobody trusts
#   server.pem server.key   "localhost", 127.0.0.1, ::1, signed by ca
#   expired.pem expired.key the same names, signed by ca, expired in 2020
#   stranger.pem stranger.key the same names, signed by other-ca
#   client.pem client.key   "CN=client one,O=shade test", signed by ca
set -eu
cd "$1"
key() { certtool --generate-privkey --key-type=ecdsa --outfile "$1" 2>/dev/null; }
ca() { # name cn
	key "$1.key"
	printf 'cn = "%s"\nca\ncert_signing_key\nexpiration_days = 2\n' "$2" > "$1.tmpl"
	certtool --generate-self-signed --load-privkey "$1.key" \
		--template "$1.tmpl" --outfile "$1.pem" 2>/dev/null
}
cert() { # name issuer template-lines
	key "$1.key"
	printf '%s\n' "$3" > "$1.tmpl"
	certtool --generate-certificate --load-privkey "$1.key" \
		--load-ca-certificate "$2.pem" --load-ca-privkey "$2.key" \
		--template "$1.tmpl" --outfile "$1.pem" 2>/dev/null
}
SERVER='cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"
tls_www_server
signing_key'
ca ca "shade test CA"
ca other-ca "shade other CA"
cert server ca "$SERVER
expiration_days = 2"
cert expired ca "$SERVER
activation_date = \"2019-01-01 00:00:00 UTC\"
expiration_date = \"2020-01-01 00:00:00 UTC\""
cert stranger other-ca "$SERVER
expiration_days = 2"
cert client ca 'cn = "client one"
organization = "shade test"
tls_www_client
signing_key
expiration_days = 2'
rm -f ./*.tmpl other-ca.key
