// Key Vault in RBAC mode. The signing-key secret `jwt-signing-key` is created by the handler on
// first use and rotated by the `rotate-keys` timer (new versions), so the identity needs Key
// Vault Secrets Officer (read and write secrets), not only Secrets User. The other modules store
// the connection secrets here for Key Vault references.
param name string
param location string
param principalId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 30
    enablePurgeProtection: true
  }
}

// b86a8fe4-44ce-4948-aee5-eccb2c155cd7: Key Vault Secrets Officer.
resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, principalId, 'secrets-officer')
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
