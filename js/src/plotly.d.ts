// plotly.js ships no types for its partial-bundle entry points; the panel uses only these calls.
declare module "plotly.js/lib/core" {
  const Plotly: {
    register(modules: unknown[]): void;
    react(el: HTMLElement, data: unknown[], layout: unknown, config?: unknown): Promise<unknown>;
    purge(el: HTMLElement): void;
    Plots: { resize(el: HTMLElement): void };
  };
  export default Plotly;
}
declare module "plotly.js/lib/scattergl" { const m: unknown; export default m; }
declare module "plotly.js/lib/bar" { const m: unknown; export default m; }
declare module "plotly.js/lib/contour" { const m: unknown; export default m; }
declare module "plotly.js/lib/heatmap" { const m: unknown; export default m; }
