#!/usr/bin/env bash
# tests/idl/debian_corpora.sh - the real-world IDL corpora that Debian
# packages ship, through tests/idl/corpus_check.sh: the omniORB CORBA
# services IDL (omniorb-idl) and Cyclone DDS's XTypes IDL
# (cyclonedds-dev).  CI installs both; run from the top of a clone:
#
#   tests/idl/debian_corpora.sh [IDLC]     (default build/bin/shade-idlc)
set -euo pipefail
cd "$(dirname "$0")/../.."
idlc=${1:-build/bin/shade-idlc}
omni=/usr/share/idl/omniORB
dds=/usr/include/dds/ddsi
rc=0

# The files omniidl itself refuses: they include IOP.idl, which the
# package does not ship, or name CORBA::ServiceOption or
# CORBA::Environment, which corbaidl.idl does not declare.
invalid=(CosTSPortability DCE_CIOPSecurity NRService SECIOP SSLIOP Security
	SecurityAdmin SecurityLevel1 SecurityLevel2 SecurityReplaceable)
args=()
for b in "${invalid[@]}"; do
	args+=(--invalid "$b")
done
tests/idl/corpus_check.sh "$idlc" omniORB -I "$omni" -I "$omni/COS" \
	"${args[@]}" -- "$omni"/*.idl "$omni"/COS/*.idl || rc=1
tests/idl/corpus_check.sh "$idlc" cyclonedds -I "$dds" -- "$dds"/*.idl || rc=1
exit $rc
