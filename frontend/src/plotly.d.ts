declare module "plotly.js-basic-dist-min" {
  const Plotly: {
    newPlot(el: HTMLElement, data: unknown[], layout?: unknown, config?: unknown): Promise<HTMLElement>;
    react(el: HTMLElement, data: unknown[], layout?: unknown, config?: unknown): Promise<HTMLElement>;
    purge(el: HTMLElement): void;
  };
  export default Plotly;
}
