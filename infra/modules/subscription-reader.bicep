// Reader on one watched subscription: the model catalog (locations/models/read) and the account and deployment
// listing. Deployed at that subscription's scope by main.bicep.
targetScope = 'subscription'

param principalId string

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
