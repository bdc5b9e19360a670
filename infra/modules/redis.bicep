// Azure Cache for Redis, TLS only. The handler reads REDIS_URL (rediss://:<key>@<host>:6380),
// kept as a Key Vault secret so no key sits in plain app settings.
param name string
param location string
@allowed(['Basic', 'Standard'])
param sku string
param capacity int
param keyVaultName string

resource redis 'Microsoft.Cache/redis@2024-03-01' = {
  name: name
  location: location
  properties: {
    sku: { name: sku, family: 'C', capacity: capacity }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    redisConfiguration: {
      // Never evict: the keys this app keeps are small and nearly all expire by themselves,
      // and an evicted revocation mark would let a logged-out token in again (the epoch key
      // that vouches for the marks is read on every request, so no LRU policy would evict it
      // first). A full cache fails writes (503; the general rate limit lets requests through)
      // instead of forgetting security state.
      'maxmemory-policy': 'noeviction'
    }
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource urlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'redis-url'
  properties: {
    value: 'rediss://:${redis.listKeys().primaryKey}@${redis.properties.hostName}:${redis.properties.sslPort}'
  }
}

output urlSecretUri string = urlSecret.properties.secretUri
