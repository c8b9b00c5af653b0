export { Registry, checkArgs, closestNames } from './registry.js';
export { REQUIRED, defineComponent, resolveArgs } from './component.js';
export type { ArgSpec, ComponentEntry, ResolvedArgs } from './component.js';
export type { Builder, ComponentConfig } from './registry.js';
export { loadCustomImports } from './custom-imports.js';
export type { CustomImports, CustomImportResult, Registries } from './custom-imports.js';
