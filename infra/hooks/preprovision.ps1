# azd preprovision on Windows: the same steps as preprovision.sh (which says why).
. "$PSScriptRoot/lib.ps1"
Require-Azd preprovision

# 1. WATCH_ACCOUNTS: account resource ids only, each once
$accounts = Get-NormalizedAccounts "$env:WATCH_ACCOUNTS"
if ($accounts -ne "$env:WATCH_ACCOUNTS") {
  Invoke-Checked { azd env set "WATCH_ACCOUNTS=$accounts" } | Out-Null
  Say "WATCH_ACCOUNTS normalised (trimmed, duplicates removed): $accounts"
}

# 2. enforce with no named account writes everywhere: refused unless said outright
$mode = if ($env:POLICY_MODE) { $env:POLICY_MODE.ToLower() } else { 'plan' }
if ($mode -eq 'enforce' -and -not $accounts -and "$env:POLICY_ENFORCE_ALL_ACCOUNTS".ToLower() -ne 'true') {
  Fail ("POLICY_MODE=enforce with an empty WATCH_ACCOUNTS would write to every account of the watched subscriptions. " +
    "Name the accounts (azd env set WATCH_ACCOUNTS <id>,<id>) or say so outright (azd env set POLICY_ENFORCE_ALL_ACCOUNTS true)")
}

# 2b. EVAL_SUITES_CONTAINER: a blob container's resource id, whose parts the template reads
$containerRe = '^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[a-z0-9]{3,24}/blobServices/default/containers/[a-z0-9-]{3,63}$'
if ($env:EVAL_SUITES_CONTAINER -and $env:EVAL_SUITES_CONTAINER -cnotmatch $containerRe) {
  Fail ("EVAL_SUITES_CONTAINER must be a blob container's resource id: " +
    "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<account>/blobServices/default/containers/<container>")
}

# 3. ALERT_ROUTES goes to the template base64-encoded (raw JSON would break main.parameters.json)
$routes = "$env:ALERT_ROUTES"
if ($routes) {
  # parsed, not sniffed (pretty-printed JSON is fine); -NoEnumerate keeps a JSON array an array
  $parsed = $null
  try { $parsed = ConvertFrom-Json -InputObject $routes -NoEnumerate -ErrorAction Stop } catch { $parsed = $null }
  if ($parsed -isnot [System.Management.Automation.PSCustomObject]) { Fail 'ALERT_ROUTES must be a JSON object, e.g. {"payments": {"slack": "https://hooks.slack.com/..."}}' }
  $encoded = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($routes))
  Invoke-Checked { azd env set "ALERT_ROUTES_B64=$encoded" } | Out-Null
} else {
  # KEY= as one argument: PowerShell 7.2 and older drop an empty '' argument to a native command
  Invoke-Checked { azd env set 'ALERT_ROUTES_B64=' } | Out-Null
}

# 4. the Entra app registration (idempotent)
if ("$env:AUTH_APP_SKIP_SETUP".ToLower() -eq 'true') {
  if (-not $env:AUTH_CLIENT_ID) { Fail 'AUTH_APP_SKIP_SETUP=true needs AUTH_CLIENT_ID (the app registration''s client id)' }
  Say "App Service Authentication uses the existing app registration $env:AUTH_CLIENT_ID (AUTH_APP_SKIP_SETUP=true)"
  exit 0
}
Require-Az preprovision
$name = "modelwatch-$env:AZURE_ENV_NAME"
$clientId = ''
if ($env:AUTH_CLIENT_ID) {
  az ad app show --id $env:AUTH_CLIENT_ID --query appId -o tsv 2>$null | Out-Null
  if ($LASTEXITCODE -eq 0) { $clientId = $env:AUTH_CLIENT_ID }
}
if (-not $clientId) {
  $clientId = Invoke-Checked { az ad app list --filter "displayName eq '$name'" --query '[0].appId' -o tsv }
  if (-not $clientId) {
    Say "creating the Entra app registration $name (sign-in for the status page and rollback)"
    $clientId = Invoke-Checked { az ad app create --display-name $name --sign-in-audience AzureADMyOrg --query appId -o tsv }
  }
}
Invoke-Checked { az ad app update --id $clientId --identifier-uris "api://$clientId" --enable-id-token-issuance true --app-roles "@$PSScriptRoot/app-roles.json" } | Out-Null
$graph = (Invoke-Checked { az cloud show --query endpoints.microsoftGraphResourceId -o tsv }).TrimEnd('/')
$objectId = Invoke-Checked { az ad app show --id $clientId --query id -o tsv }
Invoke-Checked { az rest --method PATCH --uri "$graph/v1.0/applications/$objectId" --headers Content-Type=application/json --body "@$PSScriptRoot/app-api.json" } | Out-Null
Invoke-Checked { az rest --method PATCH --uri "$graph/v1.0/applications/$objectId" --headers Content-Type=application/json --body "@$PSScriptRoot/app-api-preauthorized.json" } | Out-Null
az ad sp show --id $clientId --query id -o tsv 2>$null | Out-Null
if ($LASTEXITCODE -ne 0) { Invoke-Checked { az ad sp create --id $clientId --query id -o tsv } | Out-Null }
Invoke-Checked { az ad sp update --id $clientId --set appRoleAssignmentRequired=true } | Out-Null
Invoke-Checked { azd env set "AUTH_CLIENT_ID=$clientId" } | Out-Null
Say "App Service Authentication app registration: $name ($clientId)"
