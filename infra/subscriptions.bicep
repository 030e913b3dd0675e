// The Event Grid subscriptions from the topic to the two Event Grid functions. Deployed by azd's postdeploy hook
// (azure.yaml): an AzureFunction endpoint must exist when its subscription is created, i.e. after code deploy.
param topicName string
param functionAppName string
param storageAccountName string
param deadLetterContainer string = 'deadletter'

resource topic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: topicName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

// each subscriber function's event types, written from the event registry by scripts/gen_event_docs.py
var eventTypes = loadJsonContent('event-types.json')

// Event Grid's retry: 30 attempts over up to 24 h, then the event is written to the dead-letter container, from
// where `python -m shared deliver` replays it (docs/operations.md).
var retryPolicy = {
  maxDeliveryAttempts: 30
  eventTimeToLiveInMinutes: 1440
}
var deadLetter = {
  identity: { type: 'SystemAssigned' }
  deadLetterDestination: {
    endpointType: 'StorageBlob'
    properties: {
      resourceId: storage.id
      blobContainerName: deadLetterContainer
    }
  }
}

resource policy 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'apply-update-policy'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/apply_update_policy'
        maxEventsPerBatch: 1
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      // generated from the event registry (shared/domain/events.py REGISTRY) by scripts/gen_event_docs.py
      includedEventTypes: eventTypes.apply_update_policy
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetter
  }
}

resource notify 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'notify-channels'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/notify_channels'
        maxEventsPerBatch: 1
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      // one digest per change across regions, and the deployment events (the same registry)
      includedEventTypes: eventTypes.notify_channels
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetter
  }
}
