using './main.bicep'

param location = 'eastus'
param accountName = readEnvironmentVariable('OPENAI_ACCOUNT', 'oai-team-a')
param chatModel = {
  name: 'gpt-4o'
  version: '2024-05-13'
}
