#!/bin/sh
# The `sh` + two `curl` baseline of the apply-scale bench: the same two requests key-sync
# makes for one key (IAM token exchange, then the sync), nothing else.
#   sh sync-curl.sh INSTANCE_ID KEY_ID
# Reads IBMCLOUD_API_KEY, IBMCLOUD_IAM_API_ENDPOINT and IBMCLOUD_KP_API_ENDPOINT. The API
# key goes to curl on stdin (printf is a shell builtin), so it is never in an argv.
set -eu
body=$(printf '%s' "$IBMCLOUD_API_KEY" | curl -sS -f -X POST \
  -H 'Content-Type: application/x-www-form-urlencoded' -H 'Accept: application/json' \
  --data 'grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey' --data-urlencode 'apikey@-' \
  "$IBMCLOUD_IAM_API_ENDPOINT/identity/token")
# The token with shell parameter expansion only (no sed, no extra process).
token=${body#*\"access_token\":\"}
token=${token%%\"*}
[ -n "$token" ] && [ "$token" != "$body" ] || { echo 'sync-curl: no access_token in the IAM answer' >&2; exit 1; }
curl -sS -f -o /dev/null -X POST -H "Authorization: Bearer $token" -H "Bluemix-Instance: $1" \
  "$IBMCLOUD_KP_API_ENDPOINT/api/v2/keys/$2/actions/sync"
