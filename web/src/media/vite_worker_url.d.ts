// Module declarations for what Vite and opusscript give untyped. `?worker&url`: the URL
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

// opusscript's Emscripten glue (CommonJS): a factory for the libopus module.
declare module 'opusscript/build/opusscript_native_wasm.js' {
  const factory: (module?: object) => unknown;
  export default factory;
}
