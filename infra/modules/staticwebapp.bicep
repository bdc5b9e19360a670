// The frontend: a Static Web App (Standard, the plan that can link a backend) whose `/api` is
// the Function App, linked as its backend. The browser then calls `/api` on the frontend's own
// origin, so the refresh cookie (SameSite=Strict, Path=/api/v1/auth) works with no CORS.
param name string
@description('Static Web Apps are offered in a few regions only; the linked backend keeps its own.')
param location string
@description('Resource id of the Function App to link as the backend.')
param functionAppId string
@description('Region of the Function App (the link needs it).')
param functionAppLocation string

resource site 'Microsoft.Web/staticSites@2023-12-01' = {
  name: name
  location: location
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    // Content is published by infra/deploy from the built app, not from a repository.
    provider: 'None'
    stagingEnvironmentPolicy: 'Disabled'
    allowConfigFileUpdates: true
  }
}

// One backend per Static Web App; linking it also puts the Static Web App in front of the
// Function App's authentication settings (see infra/README.md).
resource backend 'Microsoft.Web/staticSites/linkedBackends@2023-12-01' = {
  parent: site
  name: 'backend'
  properties: {
    backendResourceId: functionAppId
    region: functionAppLocation
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostname
