#!/bin/sh
# azd postprovision (azure.yaml), after the template ran:
#  1. the app registration's redirect URI, now that the app's host name is known;
#  2. writer-role assignments left on accounts no longer watched (or all of them in plan mode) are removed: an
#     incremental deployment never deletes what a template stopped declaring; so are the canary roles (#25) left on
#     accounts no longer watched (or all of them once CANARY_MODE no longer needs them);
#  3. the Key Vault references are refreshed until each one reports Resolved: the settings were written right after
#     the Key Vault Secrets User role, which can take minutes to take effect, and a reference that failed once keeps
#     its literal text in the app for up to 24 hours.
set -eu
. "$(dirname "$0")/lib.sh"
require_az postprovision

: "${AZURE_SUBSCRIPTION_ID:?azd sets it}" "${AZURE_RESOURCE_GROUP:?an output of infra/main.bicep}"
: "${FUNCTION_APP_NAME:?an output of infra/main.bicep}" "${FUNCTION_APP_PRINCIPAL_ID:?an output of infra/main.bicep}"
site="/subscriptions/$AZURE_SUBSCRIPTION_ID/resourceGroups/$AZURE_RESOURCE_GROUP/providers/Microsoft.Web/sites/$FUNCTION_APP_NAME"
tab=$(printf '\t')

# 1. redirect URI (browsers sign in at https://<host>/.auth/login/aad)
if [ "$(lower "${AUTH_APP_SKIP_SETUP:-false}")" != true ]; then
  az ad app update --id "${AUTH_CLIENT_ID:?set by the preprovision hook}" \
    --web-redirect-uris "https://${FUNCTION_APP_HOST:?an output of infra/main.bicep}/.auth/login/aad/callback"
fi

# 2. stale writer assignments. Also removed: the built-in roles earlier versions of this template granted (Reader on
# subscriptions, Cognitive Services Contributor on accounts), now replaced by the custom roles.
legacy_roles="acdd72a7-3385-48ef-bd42-f606fba81ae7 25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68"
mode=$(lower "${POLICY_MODE:-plan}")
if [ "$mode" = enforce ] && [ "$(lower "${POLICY_ENFORCE_ALL_ACCOUNTS:-false}")" = true ]; then
  keep_all=true # writer roles granted by hand for POLICY_ENFORCE_ALL_ACCOUNTS stay
else
  keep_all=false
fi
keep=","
if [ "$mode" = enforce ]; then
  accounts=$(normalize_accounts "${WATCH_ACCOUNTS:-}")
  keep=",$(lower "$accounts"),"
fi
writer_roles=",$(lower "${WRITER_ROLE_IDS:-}"),"
# canaries (#25): the canary writer stays only with CANARY_MODE=create, the data-plane role only with canaries on, both
# only on WATCH_ACCOUNTS (hand-made canary writers stay with POLICY_ENFORCE_ALL_ACCOUNTS, as the writer's do). The
# data-plane role is removed only where this template granted it (its description says so): one granted by hand,
# e.g. on a judge deployment's account (llm-rubric), stays.
canary_mode=$(lower "${CANARY_MODE:-off}")
canary_roles=",$(lower "${CANARY_ROLE_IDS:-}"),"
canary_keep=",$(lower "$(normalize_accounts "${WATCH_ACCOUNTS:-}")"),"
canary_keep_all=$(lower "${POLICY_ENFORCE_ALL_ACCOUNTS:-false}")
openai_user=5e0bd9bd-7b93-4f28-af87-19fc36ad61bd
canary_marker="modelwatch canaries (#25)"
subscriptions=$(printf '%s,%s' "${WRITER_ROLE_IDS:-}" "${CANARY_ROLE_IDS:-}" | tr ',' '\n' | cut -d/ -f3 | tr '[:upper:]' '[:lower:]' | sort -u)
removed=0
for sub in $subscriptions; do
  assignments=$(az rest --method get \
    --url "/subscriptions/$sub/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&\$filter=principalId%20eq%20'$FUNCTION_APP_PRINCIPAL_ID'" \
    --query "value[].[id, properties.scope, properties.roleDefinitionId, properties.description]" -o tsv)
  while IFS="$tab" read -r id scope role description; do
    [ -n "$id" ] || continue
    role_l=$(lower "$role")
    scope_l=$(lower "$scope")
    reason=""
    for legacy in $legacy_roles; do
      case "$role_l" in */"$legacy") reason="built-in role of an earlier version" ;; esac
    done
    if [ -z "$reason" ] && [ "$keep_all" = false ]; then
      case "$writer_roles" in
        *",$role_l,"*)
          if [ "$mode" != enforce ]; then
            reason="POLICY_MODE=$mode writes nothing"
          else
            case "$keep" in *",$scope_l,"*) ;; *) reason="account no longer in WATCH_ACCOUNTS" ;; esac
          fi
          ;;
      esac
    fi
    if [ -z "$reason" ]; then
      case "$canary_roles" in
        *",$role_l,"*)
          if [ "$canary_mode" != create ]; then
            reason="CANARY_MODE=$canary_mode creates no canary"
          elif [ "$canary_keep_all" != true ]; then
            case "$canary_keep" in *",$scope_l,"*) ;; *) reason="account no longer in WATCH_ACCOUNTS" ;; esac
          fi
          ;;
      esac
      case "$role_l" in
        */"$openai_user")
          if [ "$description" = "$canary_marker" ] && [ "$canary_mode" = off ]; then
            reason="CANARY_MODE=off calls no data plane"
          elif [ "$description" = "$canary_marker" ]; then
            case "$canary_keep" in *",$scope_l,"*) ;; *) reason="account no longer in WATCH_ACCOUNTS" ;; esac
          fi
          ;;
      esac
    fi
    if [ -n "$reason" ]; then
      say "removing role assignment $id on $scope ($reason)"
      az role assignment delete --ids "$id"
      removed=$((removed + 1))
    fi
  done <<EOF
$assignments
EOF
done
say "role assignments removed: $removed"

# 3. Key Vault references: refresh, then wait (bounded) until every one is Resolved
api="api-version=2022-03-01"
attempts=${MODELWATCH_KV_ATTEMPTS:-20}
interval=${MODELWATCH_KV_INTERVAL_SECONDS:-15}
references() {
  az rest --method get --url "$site/config/configreferences/appsettings?$api" --query "value[].[id, properties.status]" -o tsv
}
# assigned before use, so a failing az stops the hook (set -e) instead of reading as "no reference" or "resolved"
refs=$(references)
if [ -z "$refs" ]; then
  say "no Key Vault references in the app settings (no webhook configured)"
  exit 0
fi
attempt=1
while :; do
  az rest --method post --url "$site/config/configreferences/appsettings/refresh?$api" --output none
  refs=$(references)
  pending=""
  while IFS="$tab" read -r id status; do
    [ -n "$id" ] || continue
    [ "$status" = Resolved ] || pending="$pending ${id##*/}=$status"
  done <<EOF
$refs
EOF
  if [ -z "$pending" ]; then
    say "Key Vault references resolved"
    exit 0
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    fail "Key Vault references still unresolved after $attempts checks:$pending. Until they resolve the app reads the" \
      "literal @Microsoft.KeyVault(...) text (and its settings check fails). AccessToKeyVaultDenied: the app's Key Vault" \
      "Secrets User role is still taking effect, run 'azd hooks run postprovision' again in a few minutes." \
      "SecretNotFound: a *_IN_VAULT flag is true but the secret is not in the vault (az keyvault secret set)." \
      "Details: az rest --method get --url '$site/config/configreferences/appsettings?$api'"
  fi
  say "Key Vault references not resolved yet:$pending (check $attempt of $attempts; next in ${interval}s)"
  attempt=$((attempt + 1))
  sleep "$interval"
done
