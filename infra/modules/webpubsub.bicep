// Web PubSub with hub `chat`. Its event handler calls the Function App's Web PubSub extension
// endpoint for the system events connect / connected / disconnected and the user event
// `message` (functions chat-connect, chat-connected, chat-disconnected, chat-message). The
// extension's system key exists only once the package runs, so the first deployment creates the
// hub without a handler and the second one, given the key, wires it (infra/README.md).
param name string
param location string
@allowed(['Free_F1', 'Standard_S1'])
param sku string
param hub string
param functionAppHostName string
@secure()
param extensionKey string
param keyVaultName string
param principalId string

resource service 'Microsoft.SignalRService/webPubSub@2024-03-01' = {
  name: name
  location: location
  sku: {
    name: sku
    tier: sku == 'Free_F1' ? 'Free' : 'Standard'
    capacity: 1
  }
  properties: {
    // The handler signs client tokens and REST calls with the access key.
    disableLocalAuth: false
    tls: { clientCertEnabled: false }
  }
}

resource chatHub 'Microsoft.SignalRService/webPubSub/hubs@2024-03-01' = {
  parent: service
  name: hub
  properties: {
    anonymousConnectPolicy: 'deny'
    eventHandlers: empty(extensionKey) ? [] : [
      {
        urlTemplate: 'https://${functionAppHostName}/runtime/webhooks/webpubsub?code=${extensionKey}'
        userEventPattern: 'message'
        systemEvents: ['connect', 'connected', 'disconnected']
      }
    ]
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource connectionSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'webpubsub-connection-string'
  properties: { value: service.listKeys().primaryConnectionString }
}

// 12cf5a90-567b-43ae-8102-96cf46c7d9b4: Web PubSub Service Owner, for identity-based REST calls
// and token minting (the access key can then be rotated away without code changes).
resource serviceOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: service
  name: guid(service.id, principalId, 'webpubsub-owner')
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '12cf5a90-567b-43ae-8102-96cf46c7d9b4')
  }
}

output connectionStringSecretUri string = connectionSecret.properties.secretUri
