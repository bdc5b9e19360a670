// A bar chart of a metrics series, drawn as SVG (no chart library, nothing inline that the
// CSP would refuse). The same figures are in a table beside it for screen readers.
import type { components } from "@portal-api/client";

type Series = components["schemas"]["Series"];

export function Chart({ series, label }: { series: Series; label: string }) {
  const w = 640;
  const h = 200;
  const pad = 24;
  const points = series.points;
  const max = Math.max(1, ...points.map((p) => p.value));
  const bar = points.length ? (w - pad * 2) / points.length : 0;
  const day = (t: string) => t.slice(5, series.interval === "hour" ? 16 : 10).replace("T", " ");
  return (
    <figure>
      <svg class="chart" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
        <title>{label}</title>
        <line x1={pad} y1={h - pad} x2={w - pad} y2={h - pad} stroke="#4a4a4a" />
        <text x={4} y={pad} font-size="11" fill="#1a1a1a">
          {max}
        </text>
        {points.map((p, i) => {
          const height = ((h - pad * 2) * p.value) / max;
          return (
            <rect key={p.t} x={pad + i * bar + 1} y={h - pad - height} width={Math.max(1, bar - 2)} height={height} fill="#0b5cad">
              <title>{`${day(p.t)}: ${p.value}`}</title>
            </rect>
          );
        })}
        {points.length > 0 && (
          <>
            <text x={pad} y={h - 6} font-size="11" fill="#1a1a1a">
              {day(points[0].t)}
            </text>
            <text x={w - pad} y={h - 6} font-size="11" fill="#1a1a1a" text-anchor="end">
              {day(points[points.length - 1].t)}
            </text>
          </>
        )}
      </svg>
      <figcaption class="meta">
        {series.metric} per {series.interval}, total {points.reduce((n, p) => n + p.value, 0)}
      </figcaption>
      <table class="sr-only">
        <caption>{label}</caption>
        <tbody>
          {points.map((p) => (
            <tr key={p.t}>
              <th scope="row">{day(p.t)}</th>
              <td>{p.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
