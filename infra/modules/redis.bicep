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
      // Rate-limit and blacklist keys carry their own TTL; evict only those under pressure.
      'maxmemory-policy': 'volatile-lru'
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
