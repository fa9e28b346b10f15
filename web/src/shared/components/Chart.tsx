/**
 * An ECharts chart, loaded on first use: `echarts` is a separate chunk that the initial
 * page never downloads (the scorecard's sparklines are plain SVG).
 */
import { useEffect, useRef } from "react";

export type ChartOption = Record<string, unknown>;

export function Chart({
  option,
  label,
  height = 320,
}: {
  option: ChartOption;
  label: string;
  height?: number;
}) {
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let disposed = false;
    let dispose = () => {};
    void import("./echarts").then(({ echarts }) => {
      if (disposed || !element.current) return;
      const chart = echarts.init(element.current, undefined, { renderer: "svg" });
      chart.setOption(option);
      const resize = () => chart.resize();
      window.addEventListener("resize", resize);
      element.current.dataset["rendered"] = "true";
      dispose = () => {
        window.removeEventListener("resize", resize);
        chart.dispose();
      };
    });
    return () => {
      disposed = true;
      dispose();
    };
  }, [option]);
  return (
    <div
      ref={element}
      className="chart"
      role="img"
      aria-label={label}
      style={{ height, width: "100%" }}
    />
  );
}
