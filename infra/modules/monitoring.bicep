// Log Analytics, workspace-based Application Insights, and the alert rules of the operations
// guide (docs/operations.md): error rate, P95 latency, auth failure spike, Cosmos DB 429s.
param name string
param location string
@description('Email address that receives the alerts (empty: no action group).')
param alertEmail string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-logs'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-ai'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // The handler's OpenTelemetry exporter sends with the connection string's instrumentation
    // key (it has no Entra ID token support), so local auth stays on.
    DisableLocalAuth: false
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${name}-oncall'
  location: 'global'
  properties: {
    groupShortName: 'oncall'
    enabled: true
    emailReceivers: [
      { name: 'oncall', emailAddress: alertEmail, useCommonAlertSchema: true }
    ]
  }
}

var actions = empty(alertEmail) ? [] : [actionGroup.id]

// Log alerts over the Application Insights tables; each query returns rows only when the
// condition holds, so "more than 0 rows" fires the alert.
var alerts = [
  {
    name: 'error-rate'
    description: 'More than 5% of requests failed over 5 minutes'
    severity: 1
    window: 'PT5M'
    query: 'AppRequests | summarize total = count(), failed = countif(Success == false) | where total > 20 and failed * 100.0 / total > 5'
  }
  {
    name: 'p95-latency'
    description: 'P95 request duration above 1 s over 10 minutes'
    severity: 2
    window: 'PT10M'
    query: 'AppRequests | summarize p95 = percentile(DurationMs, 95), total = count() | where total > 20 and p95 > 1000'
  }
  {
    name: 'auth-failures'
    description: 'More than 10 failed sign-ins in a minute'
    severity: 2
    window: 'PT5M'
    query: 'AppMetrics | where Name == "auth.failures" | summarize failures = sum(Sum) by bin(TimeGenerated, 1m) | where failures > 10'
  }
  {
    name: 'cosmos-throttling'
    description: 'Cosmos DB answered 429 (throttled) in the last 5 minutes'
    severity: 2
    window: 'PT5M'
    query: 'AppDependencies | where DependencyType == "cosmos" and ResultCode == "429" | summarize throttled = count() | where throttled > 0'
  }
  {
    name: 'queue-poison'
    description: 'A queue message was moved to a -poison queue'
    severity: 3
    window: 'PT15M'
    query: 'AppMetrics | where Name == "queue.poison" | summarize poisoned = sum(Sum) | where poisoned > 0'
  }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [
  for alert in alerts: {
    name: '${name}-${alert.name}'
    location: location
    properties: {
      description: alert.description
      severity: alert.severity
      enabled: true
      scopes: [workspace.id]
      evaluationFrequency: 'PT5M'
      windowSize: alert.window
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      actions: { actionGroups: actions }
    }
  }
]

output connectionString string = appInsights.properties.ConnectionString
output appInsightsName string = appInsights.name
output appInsightsId string = appInsights.id
