// The app's storage account: blob containers and queues of handlers/store/schema.rs (each queue
// with the -poison twin the Functions host moves failed messages to), the Flex Consumption
// deployment container, and the CORS rule that browsers need to PUT to signed upload URLs.
param name string
param location string
param blobContainers array
param queues array
@description('Browser origins allowed to upload and read blobs directly.')
param corsOrigins array
@description('Principal id of the app identity.')
param principalId string

var deploymentContainer = 'app-package'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    // Identity everywhere: no account key in any setting, and user-delegation SAS for uploads.
    allowSharedKeyAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    cors: {
      corsRules: [
        {
          allowedOrigins: corsOrigins
          allowedMethods: ['PUT', 'GET', 'HEAD']
          // Block uploads add x-ms-blob-content-type to Put Block List; players seek with Range.
          allowedHeaders: ['x-ms-blob-type', 'content-type', 'x-ms-*', 'range']
          exposedHeaders: ['etag', 'x-ms-*', 'content-range', 'accept-ranges', 'content-length']
          maxAgeInSeconds: 3600
        }
      ]
    }
    deleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in concat(blobContainers, [deploymentContainer]): {
    parent: blobService
    name: container
    properties: { publicAccess: 'None' }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queueResources 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in flatten(map(queues, q => [q, '${q}-poison'])): {
    parent: queueService
    name: queue
  }
]

// Blob Data Contributor: files, thumbnails, archives, backups, the package container, the
// host's own state, and user-delegation keys for signed upload URLs. Queue Data Contributor:
// send, receive and delete (the handler and the queue triggers).
var roles = {
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
}

resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in items(roles): {
    scope: account
    name: guid(account.id, principalId, role.value)
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
    }
  }
]

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output deploymentContainer string = '${account.properties.primaryEndpoints.blob}${deploymentContainer}'
