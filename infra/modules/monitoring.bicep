// Watcher health: Azure Monitor alerts to one action group (docs/operations.md says what each means and what to do).
//  - failures:   a function run failed or threw (Application Insights requests with success == false, exceptions)
//  - missed run: no successful catalog_timer run for twice its schedule period
//  - dead letters / dropped events: Event Grid gave up on an event (the topic's own metrics)
// The log alerts query the Log Analytics workspace behind Application Insights (AppRequests, AppExceptions): the
// component has local auth off, and a workspace query needs no ingestion key. Dead letters are watched with the
// topic's metrics, not the storage account: a metric alert needs no diagnostic setting, blob logs or Log Analytics
// table, works whatever the plan (Flex Consumption) and whatever the storage auth (shared keys are off), and
// DroppedEventCount also catches the case where writing the dead letter itself failed (the event is then lost).
param location string
param tags object
param token string
param workspaceId string
param topicId string
param functionAppName string

@description('The catalog_timer schedule period in minutes (CATALOG_POLL_SCHEDULE); a run is missed after twice that.')
param catalogPollPeriodMinutes int

@description('Who is e-mailed when an alert fires; empty: no e-mail receiver.')
param healthAlertEmail string

@secure()
@description('A webhook (an incident tool, a Teams or Slack relay) called when an alert fires; empty: none.')
param healthAlertWebhookUrl string

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-modelwatch-${token}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'modelwatch' // at most 12 characters: shown in SMS and e-mail subjects
    enabled: true
    emailReceivers: empty(healthAlertEmail)
      ? []
      : [
          {
            name: 'health-email'
            emailAddress: healthAlertEmail
            useCommonAlertSchema: true
          }
        ]
    webhookReceivers: empty(healthAlertWebhookUrl)
      ? []
      : [
          {
            name: 'health-webhook'
            serviceUri: healthAlertWebhookUrl
            useCommonAlertSchema: true
          }
        ]
  }
}

// (a) Any failed run or exception of this app in the last 15 minutes. A failed Event Grid run is retried by Event
// Grid (and dead-lettered after 24 h), a failed timer run waits for the next tick: either way a person should look.
resource failures 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-mw-failures-${token}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'modelwatch: function failures'
    description: 'A modelwatch function run failed or raised an exception (docs/operations.md#watcher-health-alerts).'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'union (AppRequests | where Success == false), AppExceptions | where AppRoleName =~ \'${functionAppName}\''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    // The workspace is created in this same deployment, and its AppRequests/AppExceptions tables exist only once
    // telemetry has arrived: Azure Monitor validates the query at creation and refuses it with "SEM0100 Failed to
    // resolve table" on a fresh workspace (Azure/bicep#11378). Skipped here; the query runs once the tables exist.
    skipQueryValidation: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// (b) No successful catalog_timer run for twice the schedule period: the host is down, the timer lost its lease
// storage, or every cycle fails. Fires once right after a first deployment if no run has happened yet.
var missedWindowMinutes = 2 * catalogPollPeriodMinutes
resource missedRun 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-mw-missed-run-${token}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'modelwatch: no successful catalog cycle'
    description: 'No successful catalog_timer run for ${missedWindowMinutes} minutes, twice the schedule period (docs/operations.md#watcher-health-alerts).'
    severity: 1
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT${min(15, missedWindowMinutes)}M'
    windowSize: 'PT${missedWindowMinutes}M'
    criteria: {
      allOf: [
        {
          query: 'AppRequests | where AppRoleName =~ \'${functionAppName}\' and (Name =~ \'catalog_timer\' or OperationName =~ \'catalog_timer\') and Success == true'
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    // The workspace is created in this same deployment, and its AppRequests/AppExceptions tables exist only once
    // telemetry has arrived: Azure Monitor validates the query at creation and refuses it with "SEM0100 Failed to
    // resolve table" on a fresh workspace (Azure/bicep#11378). Skipped here; the query runs once the tables exist.
    skipQueryValidation: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// (c) Event Grid wrote events to the dead-letter container: replay them (python -m shared deliver).
resource deadLettered 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-mw-dead-lettered-${token}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Event Grid dead-lettered modelwatch events after 24 h of failed delivery: replay them (docs/operations.md#replaying-dead-lettered-events).'
    severity: 2
    enabled: true
    scopes: [
      topicId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered'
          metricNamespace: 'Microsoft.EventGrid/topics'
          metricName: 'DeadLetteredCount'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

// (c') Event Grid dropped events: retries exhausted and the dead letter could not be written (its container or the
// topic's role on it is gone). Those events are lost to replay: the catalog cycle republishes only what is pending.
resource dropped 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-mw-dropped-${token}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Event Grid dropped modelwatch events (not even dead-lettered): check the deadletter container and the topic identity\'s role on it (docs/operations.md#watcher-health-alerts).'
    severity: 1
    enabled: true
    scopes: [
      topicId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dropped'
          metricNamespace: 'Microsoft.EventGrid/topics'
          metricName: 'DroppedEventCount'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

output actionGroupId string = actionGroup.id
