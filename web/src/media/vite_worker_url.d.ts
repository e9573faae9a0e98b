// Module declarations for what Vite gives untyped. `?worker&url`: the URL
// of the module bundled as a worker script (the worklets are loaded from such URLs).
declare module '*?worker&url' {
  const url: string;
  export default url;
}

// Vite's `?url` imports: the URL of the file as a built asset (the WebAssembly Opus).
declare module '*?url' {
  const url: string;
  export default url;
}

