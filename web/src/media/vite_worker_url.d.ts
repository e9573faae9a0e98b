// Vite's `?worker&url` imports: the URL of the module bundled as a worker script (the
// worklets are loaded with audioWorklet.addModule from such URLs).
declare module '*?worker&url' {
  const url: string;
  export default url;
}
