// The admin dashboard: platform figures and a chart of one metric over the last days.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { api } from "../../app/store";
import { Select } from "../../app/ui";
import { AdminNav } from "./AdminNav";
import { Chart } from "./Chart";

type Stats = components["schemas"]["DashboardStats"];
type Series = components["schemas"]["Series"];

const METRICS: [string, string][] = [
  ["signups", "Sign-ups"],
  ["logins", "Sign-ins"],
  ["enrollments", "Enrollments"],
  ["forms", "Form submissions"],
];

export function Dashboard() {
  const [stats, setStats] = useState<Stats | null>(null);
  const [metric, setMetric] = useState("signups");
  const [days, setDays] = useState("14");
  const [series, setSeries] = useState<Series | null>(null);
  useEffect(() => {
    api.GET("/api/v1/dashboard/stats").then(({ data }) => data && setStats(data));
  }, []);
  useEffect(() => {
    const to = new Date();
    const from = new Date(to.getTime() - Number(days) * 86400_000);
    api
      .GET("/api/v1/dashboard/metrics", {
        params: { query: { metric, from: from.toISOString(), to: to.toISOString(), interval: "day" } },
      })
      .then(({ data }) => setSeries(data ?? null));
  }, [metric, days]);
  const name = METRICS.find(([m]) => m === metric)?.[1] ?? metric;
  return (
    <section>
      <h1>Admin dashboard</h1>
      <AdminNav />
      {stats && (
        <dl class="stats" aria-label="Platform figures">
          <div>
            <dt>Users</dt>
            <dd>{stats.users?.total ?? "–"}</dd>
          </div>
          <div>
            <dt>Active in 7 days</dt>
            <dd>{stats.users?.active7d ?? "–"}</dd>
          </div>
          <div>
            <dt>New today</dt>
            <dd>{stats.users?.newToday ?? "–"}</dd>
          </div>
          <div>
            <dt>Pending forms</dt>
            <dd>{Object.values(stats.forms ?? {}).reduce((n, byType) => n + Object.values(byType).reduce((a, b) => a + b, 0), 0)}</dd>
          </div>
          <div>
            <dt>Files stored</dt>
            <dd>{stats.files.count}</dd>
          </div>
        </dl>
      )}
      <h2>Activity</h2>
      <div class="row">
        <Select label="Metric" value={metric} options={METRICS} onChange={(e) => setMetric(e.currentTarget.value)} />
        <Select label="Period" value={days} options={[["7", "Last 7 days"], ["14", "Last 14 days"], ["30", "Last 30 days"]]} onChange={(e) => setDays(e.currentTarget.value)} />
      </div>
      {series ? <Chart series={series} label={`${name} per day, last ${days} days`} /> : <p role="status">Loading the chart…</p>}
    </section>
  );
}
