/** Vite's `?raw` suffix imports a file's text (used to check docs/families.md against the registry). */
declare module "*?raw" {
  const text: string;
  export default text;
}
