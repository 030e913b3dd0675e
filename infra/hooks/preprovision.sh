#!/bin/sh
# azd preprovision (azure.yaml): check and prepare what azd pastes into infra/main.parameters.json, then make sure the
# Entra app registration behind App Service Authentication exists (Bicep cannot create one without the preview Graph
# extension). Every value it derives is stored with `azd env set`; azd reloads the environment after a hook.
set -eu
. "$(dirname "$0")/lib.sh"
require_azd preprovision

# 1. WATCH_ACCOUNTS: account resource ids only, each once (the template grants roles per entry)
accounts=$(normalize_accounts "${WATCH_ACCOUNTS:-}")
if [ "$accounts" != "${WATCH_ACCOUNTS:-}" ]; then
  azd env set WATCH_ACCOUNTS "$accounts"
  say "WATCH_ACCOUNTS normalised (trimmed, duplicates removed): $accounts"
fi

# 2. enforce with no named account writes everywhere: refused unless said outright (the app refuses it too)
if [ "$(lower "${POLICY_MODE:-plan}")" = enforce ] && [ -z "$accounts" ] &&
  [ "$(lower "${POLICY_ENFORCE_ALL_ACCOUNTS:-false}")" != true ]; then
  fail "POLICY_MODE=enforce with an empty WATCH_ACCOUNTS would write to every account of the watched subscriptions." \
    "Name the accounts (azd env set WATCH_ACCOUNTS <id>,<id>) or say so outright" \
    "(azd env set POLICY_ENFORCE_ALL_ACCOUNTS true)"
fi

# 2b. EVAL_SUITES_CONTAINER (#25): a blob container's resource id, whose parts the template reads (EVAL_SUITES, the
# reader role's scope); anything else would fail deep inside the deployment
container_re='^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[a-z0-9]{3,24}/blobServices/default/containers/[a-z0-9-]{3,63}$'
if [ -n "${EVAL_SUITES_CONTAINER:-}" ] && ! printf '%s\n' "$EVAL_SUITES_CONTAINER" | grep -Eq "$container_re"; then
  fail "EVAL_SUITES_CONTAINER must be a blob container's resource id:" \
    "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<account>/blobServices/default/containers/<container>"
fi

# 3. ALERT_ROUTES is JSON, and azd substitutes values raw into main.parameters.json, where its quotes would break the
# file: the template takes it base64-encoded (alertRoutesBase64) and decodes it. Always rewritten, so clearing
# ALERT_ROUTES clears the encoded copy too.
routes="${ALERT_ROUTES:-}"
if [ -n "$routes" ]; then
  # parsed, not sniffed: a pretty-printed (multi-line) object, as a GitHub secret often is, is as good as one line
  is_json_object "$routes" ||
    fail "ALERT_ROUTES must be a JSON object, e.g. {\"payments\": {\"slack\": \"https://hooks.slack.com/...\"}}"
  azd env set ALERT_ROUTES_B64 "$(printf '%s' "$routes" | base64 | tr -d '\n\r')"
else
  azd env set ALERT_ROUTES_B64 ""
fi

# 4. the Entra app registration: found by the stored client id or by display name, created otherwise, then brought to
# the shape the app expects (idempotent). CI without Graph rights sets AUTH_CLIENT_ID and AUTH_APP_SKIP_SETUP=true.
if [ "$(lower "${AUTH_APP_SKIP_SETUP:-false}")" = true ]; then
  [ -n "${AUTH_CLIENT_ID:-}" ] || fail "AUTH_APP_SKIP_SETUP=true needs AUTH_CLIENT_ID (the app registration's client id)"
  say "App Service Authentication uses the existing app registration $AUTH_CLIENT_ID (AUTH_APP_SKIP_SETUP=true)"
  exit 0
fi
require_az preprovision
name="modelwatch-${AZURE_ENV_NAME:?azd sets AZURE_ENV_NAME}"
client_id=""
if [ -n "${AUTH_CLIENT_ID:-}" ] && az ad app show --id "$AUTH_CLIENT_ID" --query appId -o tsv >/dev/null 2>&1; then
  client_id=$AUTH_CLIENT_ID
else
  client_id=$(az ad app list --filter "displayName eq '$name'" --query "[0].appId" -o tsv)
  if [ -z "$client_id" ]; then
    say "creating the Entra app registration $name (sign-in for the status page and rollback)"
    client_id=$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --query appId -o tsv)
  fi
fi
[ -n "$client_id" ] || fail "no app registration could be found or created for $name (az ad app create needs the right to register applications)"
az ad app update --id "$client_id" --identifier-uris "api://$client_id" --enable-id-token-issuance true \
  --app-roles @"$HOOKS_DIR/app-roles.json"
graph=$(az cloud show --query endpoints.microsoftGraphResourceId -o tsv)
object_id=$(az ad app show --id "$client_id" --query id -o tsv)
# the delegated scope first, then Azure CLI pre-authorised for it (az account get-access-token --scope api://.../...)
az rest --method PATCH --uri "${graph%/}/v1.0/applications/$object_id" --headers Content-Type=application/json \
  --body @"$HOOKS_DIR/app-api.json"
az rest --method PATCH --uri "${graph%/}/v1.0/applications/$object_id" --headers Content-Type=application/json \
  --body @"$HOOKS_DIR/app-api-preauthorized.json"
az ad sp show --id "$client_id" --query id -o tsv >/dev/null 2>&1 || az ad sp create --id "$client_id" --query id -o tsv >/dev/null
# only users and groups given an app role can sign in at all (the app checks the role again)
az ad sp update --id "$client_id" --set appRoleAssignmentRequired=true
azd env set AUTH_CLIENT_ID "$client_id"
say "App Service Authentication app registration: $name ($client_id)"
