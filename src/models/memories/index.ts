import type { ComponentEntry } from '../../registry/index.js';
import { interCLRMemoryEntry } from './interclr-memory.js';
import { simpleMemoryEntry } from './simple-memory.js';
import { odcMemoryEntry } from './odc-memory.js';

/** Every memory's entry (MMSelfSup's MEMORIES; each defined in its component's file). */
export const MEMORY_ENTRIES: readonly ComponentEntry<object, any>[] = [simpleMemoryEntry, odcMemoryEntry, interCLRMemoryEntry];
