/**
 * A trend line in plain SVG: the scorecard draws one per row, so it must cost nothing
 * (ECharts is loaded only by the detailed charts).
 */
export function Sparkline({
  values,
  label,
  width = 96,
  height = 24,
}: {
  values: (number | null)[];
  label: string;
  width?: number;
  height?: number;
}) {
  const points = values
    .map((v, i) => [i, v] as const)
    .filter((p): p is readonly [number, number] => p[1] !== null);
  if (points.length < 2) {
    return (
      <span className="sparkline-empty" aria-label={`${label}: not enough data`}>
        –
      </span>
    );
  }
  const ys = points.map((p) => p[1]);
  const min = Math.min(...ys);
  const span = Math.max(...ys) - min || 1;
  const last = values.length - 1 || 1;
  const path = points
    .map(([i, v], n) => {
      const x = (i / last) * (width - 2) + 1;
      const y = height - 1 - ((v - min) / span) * (height - 2);
      return `${n ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(" ");
  return (
    <svg className="sparkline" width={width} height={height} role="img" aria-label={label}>
      <path d={path} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}
