// The search team's account and deployments (azd: `azd up` deploys this file with main.parameters.json).
@description('Region of the Azure OpenAI account')
param location string

@description('Name of the Azure OpenAI account')
param openAiServiceName string

param chatModelVersion string = '2024-08-06'

var deployments = [
  {
    name: 'chat-eu'
    model: { format: 'OpenAI', name: 'gpt-4o', version: chatModelVersion }
    sku: { name: 'Standard', capacity: 50 }
    versionUpgradeOption: 'OnceNewDefaultVersionAvailable'
  }
  {
    name: 'summarizer'
    model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-05-13' }
    sku: { name: 'GlobalStandard', capacity: 50 }
    versionUpgradeOption: 'OnceCurrentVersionExpired'
  }
]

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: openAiServiceName
  location: location
  kind: 'OpenAI'
  sku: { name: 'S0' }
  properties: { customSubDomainName: openAiServiceName }
}

@batchSize(1)
resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = [for d in deployments: {
  parent: account
  name: d.name
  sku: d.sku
  properties: {
    model: d.model
    versionUpgradeOption: d.versionUpgradeOption
    raiPolicyName: 'Microsoft.DefaultV2'
  }
}]
