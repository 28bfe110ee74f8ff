/// <reference types="vite/client" />
/// <reference types="@webgpu/types" />
declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  export function wgsl(strings: readonly string[], ...values: unknown[]): string;
}
