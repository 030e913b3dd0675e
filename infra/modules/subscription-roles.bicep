// In one watched subscription: the custom roles modelwatch needs, defined here and assignable only here.
// main.bicep deploys this once per watched subscription, and assigns them in later deployments that depend on this one
// (catalog-reader.bicep, account-writer.bicep): never in the deployment that defines them (RoleDefinitionDoesNotExist
// while a new definition replicates).
// Why custom roles: Reader grants every */read of the subscription and Cognitive Services Contributor grants keys,
// accounts and deployments deletion; the app needs five reads and one write (tests/unit/test_infra_rbac.py keeps the
// table "ARM call -> action" that these action lists must equal).
targetScope = 'subscription'

@description('This subscription\'s id as main.bicep spells it (lower case): the role definitions\' names are derived from it, so main.bicep derives the same ones.')
param subscriptionKey string

// Stable names: the same subscription always gets the same two definitions, whichever environment deploys them
// (two environments watching one subscription share them; their content is the same).
var readerRoleName = guid(subscriptionKey, 'modelwatch-catalog-reader')
var writerRoleName = guid(subscriptionKey, 'modelwatch-deployment-writer')
var canaryRoleName = guid(subscriptionKey, 'modelwatch-canary-writer')

// Assigned at subscription scope: Models - List and the account listing are subscription-level calls, and so is the
// poll of a deployment write (.../locations/{location}/operationResults/{id} is not under the account).
resource readerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: readerRoleName
  properties: {
    // role names are unique in the tenant: the subscription id keeps two watched subscriptions apart
    roleName: 'modelwatch catalog reader (${subscriptionKey})'
    description: 'modelwatch: read the Azure OpenAI model catalog, the accounts, their deployments and models, and the status of a deployment write.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.CognitiveServices/locations/models/read'
          'Microsoft.CognitiveServices/accounts/read'
          'Microsoft.CognitiveServices/accounts/deployments/read'
          'Microsoft.CognitiveServices/accounts/models/read'
          'Microsoft.CognitiveServices/locations/operationresults/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

// Assigned per watched account, only with POLICY_MODE=enforce (main.bicep, modules/account-writer.bicep).
resource writerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: writerRoleName
  properties: {
    roleName: 'modelwatch deployment writer (${subscriptionKey})'
    description: 'modelwatch enforce mode: read and write (upgrade, roll back) the deployments of one Azure OpenAI account. No delete, no keys.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.CognitiveServices/accounts/deployments/read'
          'Microsoft.CognitiveServices/accounts/deployments/write'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

// Assigned per watched account, only with canaryMode create (main.bicep, modules/account-canary.bicep): the temporary
// <name>-mw-canary deployments a canary run creates and deletes (#25): the only deletes modelwatch ever sends.
resource canaryRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: canaryRoleName
  properties: {
    roleName: 'modelwatch canary writer (${subscriptionKey})'
    description: 'modelwatch canaries: create and delete the temporary canary deployments of one Azure OpenAI account. No keys.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.CognitiveServices/accounts/deployments/read'
          'Microsoft.CognitiveServices/accounts/deployments/write'
          'Microsoft.CognitiveServices/accounts/deployments/delete'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

output readerRoleId string = readerRole.id
output writerRoleId string = writerRole.id
output canaryRoleId string = canaryRole.id
