# azd postdeploy on Windows: the same steps as postdeploy.sh (which says why).
. "$PSScriptRoot/lib.ps1"
Require-Az postdeploy
$attempts = if ($env:MODELWATCH_HOOK_ATTEMPTS) { [int]$env:MODELWATCH_HOOK_ATTEMPTS } else { 6 }
$delay = if ($env:MODELWATCH_HOOK_DELAY_SECONDS) { [int]$env:MODELWATCH_HOOK_DELAY_SECONDS } else { 30 }
for ($attempt = 1; ; $attempt++) {
  az deployment group create --subscription $env:AZURE_SUBSCRIPTION_ID --resource-group $env:AZURE_RESOURCE_GROUP `
    --name modelwatch-event-subscriptions --template-file infra/subscriptions.bicep `
    --parameters topicName=$env:EVENTGRID_TOPIC_NAME functionAppName=$env:FUNCTION_APP_NAME `
    storageAccountName=$env:STORAGE_ACCOUNT_NAME deadLetterContainer=$env:DEADLETTER_CONTAINER --output none
  if ($LASTEXITCODE -eq 0) { Say 'event subscriptions created (apply_update_policy, notify_channels)'; exit 0 }
  if ($attempt -ge $attempts) {
    Fail ("the event subscriptions were not created after $attempts attempts; az printed why above. If the functions are not listed yet " +
      "(az functionapp function list -g $env:AZURE_RESOURCE_GROUP -n $env:FUNCTION_APP_NAME), run 'azd hooks run postdeploy' again in a few minutes.")
  }
  Write-Warning "event subscriptions not created (attempt $attempt of $attempts); retrying in ${delay}s"
  Start-Sleep -Seconds $delay
}
