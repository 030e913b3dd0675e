# azd postprovision on Windows: the same steps as postprovision.sh (which says why).
. "$PSScriptRoot/lib.ps1"
Require-Az postprovision
$site = "/subscriptions/$env:AZURE_SUBSCRIPTION_ID/resourceGroups/$env:AZURE_RESOURCE_GROUP/providers/Microsoft.Web/sites/$env:FUNCTION_APP_NAME"

# 1. redirect URI
if ("$env:AUTH_APP_SKIP_SETUP".ToLower() -ne 'true') {
  Invoke-Checked { az ad app update --id $env:AUTH_CLIENT_ID --web-redirect-uris "https://$env:FUNCTION_APP_HOST/.auth/login/aad/callback" } | Out-Null
}

# 2. stale writer assignments, and the built-in roles of earlier versions (Reader, Cognitive Services Contributor)
$legacyRoles = @('acdd72a7-3385-48ef-bd42-f606fba81ae7', '25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68')
$mode = if ($env:POLICY_MODE) { $env:POLICY_MODE.ToLower() } else { 'plan' }
$keepAll = $mode -eq 'enforce' -and "$env:POLICY_ENFORCE_ALL_ACCOUNTS".ToLower() -eq 'true'
$keep = @()
if ($mode -eq 'enforce') { $keep = @((Get-NormalizedAccounts "$env:WATCH_ACCOUNTS").ToLower() -split ',' | Where-Object { $_ }) }
$writerRoles = @("$env:WRITER_ROLE_IDS".ToLower() -split ',' | Where-Object { $_ })
# canaries (#25): the canary writer only with CANARY_MODE=create, the data-plane role this template granted (its
# description says so) only with canaries on, both only on WATCH_ACCOUNTS
$canaryMode = if ($env:CANARY_MODE) { $env:CANARY_MODE.ToLower() } else { 'off' }
$canaryRoles = @("$env:CANARY_ROLE_IDS".ToLower() -split ',' | Where-Object { $_ })
$canaryKeep = @((Get-NormalizedAccounts "$env:WATCH_ACCOUNTS").ToLower() -split ',' | Where-Object { $_ })
$canaryKeepAll = "$env:POLICY_ENFORCE_ALL_ACCOUNTS".ToLower() -eq 'true'
$openAiUser = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
$canaryMarker = 'modelwatch canaries (#25)'
$subscriptions = @(@($writerRoles) + @($canaryRoles) | ForEach-Object { ($_ -split '/')[2] } | Sort-Object -Unique)
$removed = 0
foreach ($sub in $subscriptions) {
  $url = "/subscriptions/$sub/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&`$filter=principalId%20eq%20'$env:FUNCTION_APP_PRINCIPAL_ID'"
  $lines = Invoke-Checked { az rest --method get --url $url --query 'value[].[id, properties.scope, properties.roleDefinitionId, properties.description]' -o tsv }
  foreach ($line in @($lines | Where-Object { $_ })) {
    $id, $scope, $role, $description = $line -split "`t"
    $roleL = $role.ToLower()
    $reason = ''
    if ($legacyRoles | Where-Object { $roleL.EndsWith("/$_") }) { $reason = 'built-in role of an earlier version' }
    elseif (-not $keepAll -and $writerRoles -contains $roleL) {
      if ($mode -ne 'enforce') { $reason = "POLICY_MODE=$mode writes nothing" }
      elseif ($keep -notcontains $scope.ToLower()) { $reason = 'account no longer in WATCH_ACCOUNTS' }
    }
    elseif ($canaryRoles -contains $roleL) {
      if ($canaryMode -ne 'create') { $reason = "CANARY_MODE=$canaryMode creates no canary" }
      elseif (-not $canaryKeepAll -and $canaryKeep -notcontains $scope.ToLower()) { $reason = 'account no longer in WATCH_ACCOUNTS' }
    }
    elseif ($roleL.EndsWith("/$openAiUser") -and $description -eq $canaryMarker) {
      if ($canaryMode -eq 'off') { $reason = 'CANARY_MODE=off calls no data plane' }
      elseif ($canaryKeep -notcontains $scope.ToLower()) { $reason = 'account no longer in WATCH_ACCOUNTS' }
    }
    if ($reason) {
      Say "removing role assignment $id on $scope ($reason)"
      Invoke-Checked { az role assignment delete --ids $id } | Out-Null
      $removed++
    }
  }
}
Say "role assignments removed: $removed"

# 3. Key Vault references: refresh, then wait (bounded) until every one is Resolved
$api = 'api-version=2022-03-01'
$attempts = if ($env:MODELWATCH_KV_ATTEMPTS) { [int]$env:MODELWATCH_KV_ATTEMPTS } else { 20 }
$interval = if ($env:MODELWATCH_KV_INTERVAL_SECONDS) { [int]$env:MODELWATCH_KV_INTERVAL_SECONDS } else { 15 }
function Get-References { Invoke-Checked { az rest --method get --url "$site/config/configreferences/appsettings?$api" --query 'value[].[id, properties.status]' -o tsv } }
if (-not (Get-References)) { Say 'no Key Vault references in the app settings (no webhook configured)'; exit 0 }
for ($attempt = 1; ; $attempt++) {
  Invoke-Checked { az rest --method post --url "$site/config/configreferences/appsettings/refresh?$api" --output none } | Out-Null
  $pending = @()
  foreach ($line in @(Get-References | Where-Object { $_ })) {
    $id, $status = $line -split "`t"
    if ($status -ne 'Resolved') { $pending += "$(($id -split '/')[-1])=$status" }
  }
  if (-not $pending) { Say 'Key Vault references resolved'; exit 0 }
  if ($attempt -ge $attempts) {
    Fail ("Key Vault references still unresolved after $attempts checks: $($pending -join ' '). Until they resolve the app reads the literal " +
      "@Microsoft.KeyVault(...) text (and its settings check fails). AccessToKeyVaultDenied: the app's Key Vault Secrets User role is still " +
      "taking effect, run 'azd hooks run postprovision' again in a few minutes. SecretNotFound: a *_IN_VAULT flag is true but the secret is " +
      "not in the vault (az keyvault secret set). Details: az rest --method get --url '$site/config/configreferences/appsettings?$api'")
  }
  Say "Key Vault references not resolved yet: $($pending -join ' ') (check $attempt of $attempts; next in ${interval}s)"
  Start-Sleep -Seconds $interval
}
