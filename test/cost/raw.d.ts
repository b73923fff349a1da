/** Vite's `?raw` import (the text of a file), used to check docs/cost.md against the measured counts. */
declare module "*.md?raw" {
  const text: string;
  export default text;
}
