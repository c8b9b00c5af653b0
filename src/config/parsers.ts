import { extname } from 'node:path';
import { parseDocument, type YAMLError } from 'yaml';
import { ConfigError } from '../errors.js';
import { pythonConfigParser } from './python/index.js';
import type { ConfigDict } from './types.js';
import { isDict } from './types.js';

/**
 * A config file format. The loader reads the text, substitutes `{{ _base_.x }}`
 * references by placeholder strings (quoted when `quoteBaseRefs`, as mmcv does
 * for Python files; bare for YAML/JSON so they also work inside longer strings),
 * then calls `parse` to get the raw top-level keys of that one file.
 */
export interface ConfigParser {
  name: string;
  /** Lower-case extensions with the dot: ['.yaml', '.yml']. */
  extensions: string[];
  quoteBaseRefs: boolean;
  parse(text: string, filename: string): ConfigDict;
}

const parsers: ConfigParser[] = [];

export function registerConfigParser(parser: ConfigParser): void {
  const at = parsers.findIndex((p) => p.name === parser.name);
  if (at >= 0) parsers.splice(at, 1, parser);
  else parsers.push(parser);
}

export function supportedExtensions(): string[] {
  return parsers.flatMap((p) => p.extensions);
}

export function parserFor(filename: string): ConfigParser {
  const ext = extname(filename).toLowerCase();
  const parser = parsers.find((p) => p.extensions.includes(ext));
  if (!parser) {
    throw new ConfigError(`${filename}: unsupported config format "${ext || '(none)'}"; use one of ${supportedExtensions().join(', ')}`);
  }
  return parser;
}

export const yamlParser: ConfigParser = {
  name: 'yaml',
  extensions: ['.yaml', '.yml'],
  quoteBaseRefs: false,
  parse(text, filename) {
    // YAML 1.2 core schema: only true/false are booleans (1.1 would also read keys like `y`, `n`, `on` as booleans).
    // Merge keys (`<<: *anchor`) are allowed, as PyYAML allows them.
    const doc = parseDocument(text, { version: '1.2', merge: true, prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) throw yamlError(doc.errors[0]!, filename);
    return topLevel(doc.toJS({ maxAliasCount: -1 }), filename);
  },
};

export const jsonParser: ConfigParser = {
  name: 'json',
  extensions: ['.json'],
  quoteBaseRefs: false,
  parse(text, filename) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      // JSON.parse does not always say where; the YAML parser (JSON is YAML 1.2) does.
      const doc = parseDocument(text, { version: '1.2', schema: 'json', prettyErrors: true });
      if (doc.errors.length > 0) throw yamlError(doc.errors[0]!, filename, 'JSON');
      throw new ConfigError(`JSON syntax error in ${filename}: ${(e as Error).message}`, { code: 'JSON_SYNTAX' });
    }
    return topLevel(value, filename);
  },
};

function yamlError(err: YAMLError, filename: string, format = 'YAML'): ConfigError {
  const pos = err.linePos?.[0];
  const where = pos ? `${filename}:${pos.line}:${pos.col}` : filename;
  const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return new ConfigError(`${format} syntax error at ${where}: ${what}`, { code: `${format}_SYNTAX` });
}

function topLevel(value: unknown, filename: string): ConfigDict {
  if (value === null || value === undefined) return {};
  if (!isDict(value)) throw new ConfigError(`${filename}: a config file must be a mapping at the top level`);
  return value;
}

registerConfigParser(yamlParser);
registerConfigParser(jsonParser);
registerConfigParser(pythonConfigParser); // MMSelfSup's .py configs (python-config helper)
