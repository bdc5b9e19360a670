// Communication Services Email with an Azure-managed sender domain. The handler signs its
// requests with the access key (ACS_EMAIL_KEY), kept in Key Vault.
param name string
param keyVaultName string
@description('Where email data is stored at rest.')
param dataLocation string = 'United States'

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: '${name}-email'
  location: 'global'
  properties: { dataLocation: dataLocation }
}

resource domain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  location: 'global'
  properties: {
    dataLocation: dataLocation
    linkedDomains: [domain.id]
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource keySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'acs-email-key'
  properties: { value: communication.listKeys().primaryKey }
}

output endpoint string = 'https://${communication.properties.hostName}'
output sender string = 'DoNotReply@${domain.properties.mailFromSenderDomain}'
output keySecretUri string = keySecret.properties.secretUri
