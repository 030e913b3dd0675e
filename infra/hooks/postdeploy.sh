#!/bin/sh
# azd postdeploy (azure.yaml): the Event Grid subscriptions (infra/subscriptions.bicep), created after the code is
# deployed because an AzureFunction subscription needs its function to exist. Pinned to azd's subscription (az may
# default to another one). Retried: on Flex Consumption the functions can take a moment to be listed after a deploy.
set -eu
. "$(dirname "$0")/lib.sh"
require_az postdeploy

attempts=${MODELWATCH_HOOK_ATTEMPTS:-6}
delay=${MODELWATCH_HOOK_DELAY_SECONDS:-30}
attempt=1
while :; do
  if az deployment group create --subscription "$AZURE_SUBSCRIPTION_ID" --resource-group "$AZURE_RESOURCE_GROUP" \
    --name modelwatch-event-subscriptions --template-file infra/subscriptions.bicep \
    --parameters topicName="$EVENTGRID_TOPIC_NAME" functionAppName="$FUNCTION_APP_NAME" \
    storageAccountName="$STORAGE_ACCOUNT_NAME" deadLetterContainer="$DEADLETTER_CONTAINER" --output none; then
    say "event subscriptions created (apply_update_policy, notify_channels)"
    exit 0
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    fail "the event subscriptions were not created after $attempts attempts; az printed why above. If the functions" \
      "are not listed yet (az functionapp function list -g $AZURE_RESOURCE_GROUP -n $FUNCTION_APP_NAME), run" \
      "'azd hooks run postdeploy' again in a few minutes."
  fi
  say "event subscriptions not created (attempt $attempt of $attempts); retrying in ${delay}s" >&2
  attempt=$((attempt + 1))
  sleep "$delay"
done
