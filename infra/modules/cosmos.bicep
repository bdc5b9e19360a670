// Cosmos DB for NoSQL: database `portal` and every container with the partition key the code
// expects; containers whose items carry `ttl` get defaultTtl -1 (on, no default). The app
// identity gets the built-in data contributor role through a SQL role assignment (data plane),
// and key auth is off.
param name string
param location string
param databaseName string
@description('[{name, partitionKey, ttl}] as in handlers/store/schema.rs')
param containers array
@allowed(['serverless', 'autoscale'])
param capacity string
param autoscaleMaxThroughput int
param principalId string

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: name
  location: location
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [{ locationName: location, failoverPriority: 0 }]
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    capabilities: capacity == 'serverless' ? [{ name: 'EnableServerless' }] : []
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: { id: databaseName }
    options: capacity == 'autoscale' ? { autoscaleSettings: { maxThroughput: autoscaleMaxThroughput } } : {}
  }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for container in containers: {
    parent: database
    name: container.name
    properties: {
      resource: union(
        {
          id: container.name
          partitionKey: { paths: [container.partitionKey], kind: 'Hash', version: 2 }
          indexingPolicy: {
            indexingMode: 'consistent'
            automatic: true
            includedPaths: [{ path: '/*' }]
            // Message bodies and opaque ciphertext are never filtered on; not indexing them
            // keeps writes cheap.
            excludedPaths: [
              { path: '/"_etag"/?' }
              { path: '/ciphertext/*' }
              { path: '/envelopes/*' }
            ]
          }
        },
        container.ttl ? { defaultTtl: -1 } : {}
      )
    }
  }
]

// 00000000-0000-0000-0000-000000000002: Cosmos DB Built-in Data Contributor.
resource dataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, principalId, 'data-contributor')
  properties: {
    principalId: principalId
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002'
    scope: account.id
  }
}

output endpoint string = account.properties.documentEndpoint
