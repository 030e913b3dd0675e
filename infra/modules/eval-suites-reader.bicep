// EVAL_SUITES as a blob container (#25): Storage Blob Data Reader on that one container (not its account), so the app
// reads the teams' evaluation suites and nothing else there. main.bicep deploys this into the storage account's own
// resource group, only when canaryMode is not off and evalSuitesContainer names a container.
param storageAccountName string
param containerName string
param principalId string

var roles = {
  blobReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1' // Storage Blob Data Reader
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobs
  name: containerName
}

resource suitesReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, principalId, roles.blobReader)
  scope: container
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobReader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
