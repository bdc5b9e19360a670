// portal-api on Azure: every resource the handler uses, one user-assigned identity with
// least-privilege roles, and the app settings that wire them together.
//
//   az deployment group create -g <rg> -f infra/main.bicep -p name=<prefix> appBaseUrl=https://...
//
// See infra/README.md for the parameters, the two-step Web PubSub wiring and the costs.
targetScope = 'resourceGroup'

@description('Short lowercase prefix for resource names (3-11 letters or digits).')
@minLength(3)
@maxLength(11)
param name string

param location string = resourceGroup().location

@description('The frontend origin: links in emails point here and blob CORS allows it.')
param appBaseUrl string

@description('Extra browser origins allowed to upload straight to blob storage.')
param extraCorsOrigins array = []

@allowed(['open', 'invite'])
param registrationMode string = 'open'

@description('Comma-separated emails that become admins when they sign up.')
param adminEmails string = ''

@description('Who is told of each new form submission (empty: nobody).')
param formsNotifyEmail string = ''

@description('Cosmos DB capacity: serverless (default) or provisioned autoscale throughput on the database.')
@allowed(['serverless', 'autoscale'])
param cosmosCapacity string = 'serverless'

@description('Autoscale maximum RU/s of the database when cosmosCapacity is autoscale.')
param cosmosAutoscaleMaxThroughput int = 1000

@allowed(['Basic', 'Standard'])
param redisSku string = 'Basic'

@description('Redis size: 0 is C0 (250 MB), 1 is C1 (1 GB).')
param redisCapacity int = 0

@allowed(['Free_F1', 'Standard_S1'])
param webPubSubSku string = 'Free_F1'

@description('The Function App\'s webpubsub_extension system key. Empty on the first deployment (the key exists once the package runs); deploy again with it to wire the chat event handler.')
@secure()
param webPubSubExtensionKey string = ''

@description('Largest number of Flex Consumption instances.')
param maximumInstanceCount int = 100

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Email address that receives the alerts (empty: alert rules without an action group).')
param alertEmail string = ''

@description('Region of the Static Web App (the frontend); it is offered in these regions only.')
@allowed(['westus2', 'centralus', 'eastus2', 'westeurope', 'eastasia'])
param staticWebAppLocation string = 'westeurope'

param archiveAfterDays int = 365
param backupRetentionDays int = 30

// The storage layout of handlers/store/schema.rs: the infra consistency test compares these
// lists with the code, so a container added there without its twin here fails CI.
var cosmosContainers = [
  { name: 'users', partitionKey: '/id', ttl: false }
  { name: 'emails', partitionKey: '/id', ttl: false }
  { name: 'sessions', partitionKey: '/userId', ttl: true }
  { name: 'tokens', partitionKey: '/id', ttl: true }
  { name: 'invites', partitionKey: '/id', ttl: true }
  { name: 'courses', partitionKey: '/id', ttl: false }
  { name: 'progress', partitionKey: '/userId', ttl: false }
  { name: 'forms', partitionKey: '/id', ttl: false }
  { name: 'files', partitionKey: '/ownerId', ttl: true }
  { name: 'shares', partitionKey: '/id', ttl: true }
  { name: 'conversations', partitionKey: '/id', ttl: false }
  { name: 'memberships', partitionKey: '/userId', ttl: false }
  { name: 'messages', partitionKey: '/conversationId', ttl: true }
  { name: 'keys', partitionKey: '/conversationId', ttl: false }
  { name: 'activity', partitionKey: '/userId', ttl: true }
  { name: 'audit', partitionKey: '/day', ttl: true }
  { name: 'jobs', partitionKey: '/id', ttl: true }
  { name: 'metrics', partitionKey: '/metric', ttl: false }
  { name: 'outbox', partitionKey: '/id', ttl: true }
  { name: 'notifications', partitionKey: '/userId', ttl: true }
]
var blobContainers = ['files', 'thumbnails', 'archives', 'backups']
var queues = ['thumbnails', 'emails', 'erasures']

var suffix = uniqueString(resourceGroup().id, name)
var appName = '${name}-api-${suffix}'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${name}-id-${suffix}'
    location: location
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: '${name}-${suffix}'
    location: location
    alertEmail: alertEmail
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: take(toLower('${name}st${suffix}'), 24)
    location: location
    blobContainers: blobContainers
    queues: queues
    corsOrigins: concat([appBaseUrl], extraCorsOrigins)
    principalId: identity.outputs.principalId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    name: '${name}-cosmos-${suffix}'
    location: location
    databaseName: 'portal'
    containers: cosmosContainers
    capacity: cosmosCapacity
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    principalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: take('${name}-kv-${suffix}', 24)
    location: location
    principalId: identity.outputs.principalId
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  params: {
    name: '${name}-redis-${suffix}'
    location: location
    sku: redisSku
    capacity: redisCapacity
    keyVaultName: keyVault.outputs.name
  }
}

module email 'modules/email.bicep' = {
  name: 'email'
  params: {
    name: '${name}-acs-${suffix}'
    keyVaultName: keyVault.outputs.name
  }
}

module webPubSub 'modules/webpubsub.bicep' = {
  name: 'webpubsub'
  params: {
    name: '${name}-wps-${suffix}'
    location: location
    sku: webPubSubSku
    hub: 'chat'
    functionAppHostName: '${appName}.azurewebsites.net'
    extensionKey: webPubSubExtensionKey
    keyVaultName: keyVault.outputs.name
    principalId: identity.outputs.principalId
  }
}

// Key Vault references resolve with the app's user-assigned identity (keyVaultReferenceIdentity).
func kvRef(uri string) string => '@Microsoft.KeyVault(SecretUri=${uri})'

// Every setting the handler reads (local.settings.json.example). Settings with a good default are
// left out and listed as optional in infra/README.md; the consistency test checks both.
var appSettings = {
  // The Functions host itself: identity-based AzureWebJobsStorage and queue trigger connection.
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  STORAGE__queueServiceUri: storage.outputs.queueEndpoint
  STORAGE__credential: 'managedidentity'
  STORAGE__clientId: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString

  // The handler.
  AZURE_CLIENT_ID: identity.outputs.clientId
  COSMOS_ENDPOINT: cosmos.outputs.endpoint
  COSMOS_DATABASE: 'portal'
  STORAGE_BLOB_ENDPOINT: storage.outputs.blobEndpoint
  STORAGE_QUEUE_ENDPOINT: storage.outputs.queueEndpoint
  KEY_VAULT_URI: keyVault.outputs.uri
  REDIS_URL: kvRef(redis.outputs.urlSecretUri)
  WEBPUBSUB_CONNECTION_STRING: kvRef(webPubSub.outputs.connectionStringSecretUri)
  WEBPUBSUB_HUB: 'chat'
  ACS_EMAIL_ENDPOINT: email.outputs.endpoint
  ACS_EMAIL_KEY: kvRef(email.outputs.keySecretUri)
  EMAIL_SENDER: email.outputs.sender
  PUBLIC_BASE_URL: 'https://${appName}.azurewebsites.net'
  APP_BASE_URL: appBaseUrl
  TRUSTED_PROXY_HOPS: '1'
  LOG_FORMAT: 'json'
  RUST_LOG: 'info,azure_core=warn,hyper=warn'
  ALLOW_EMBEDDED: 'false'
  REGISTRATION_MODE: registrationMode
  ADMIN_EMAILS: adminEmails
  FORMS_NOTIFY_EMAIL: formsNotifyEmail
  ARCHIVE_AFTER_DAYS: string(archiveAfterDays)
  BACKUP_RETENTION_DAYS: string(backupRetentionDays)
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: appName
    location: location
    identityId: identity.outputs.id
    storageAccountName: storage.outputs.name
    deploymentContainer: storage.outputs.deploymentContainer
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    corsOrigins: concat([appBaseUrl], extraCorsOrigins)
    appSettings: appSettings
  }
  // The identity must be able to read Key Vault references and the deployment container first.
  dependsOn: [keyVault, storage]
}

// The frontend, with the Function App as its linked backend: the browser calls /api on the
// frontend's own origin. appBaseUrl is then https://<defaultHostName> or a custom domain on it.
module staticWebApp 'modules/staticwebapp.bicep' = {
  name: 'staticwebapp'
  params: {
    name: '${name}-web-${suffix}'
    location: staticWebAppLocation
    functionAppId: functionApp.outputs.id
    functionAppLocation: location
  }
}

output functionAppName string = functionApp.outputs.name
output staticWebAppName string = staticWebApp.outputs.name
output frontendUrl string = 'https://${staticWebApp.outputs.defaultHostName}'
output apiBaseUrl string = 'https://${functionApp.outputs.hostName}/api'
output webPubSubHub string = 'chat'
output identityClientId string = identity.outputs.clientId
output appInsightsName string = monitoring.outputs.appInsightsName
