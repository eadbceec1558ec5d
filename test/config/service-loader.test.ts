import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, instantiateService, loadConfig, resolveConfig, type ResolvedServiceConfig } from '../../src/config/index.js';
import { FIXTURES } from './helpers.js';

const svc = (className: string, name = 'Svc'): ResolvedServiceConfig => ({ name, enabled: true, className, properties: {} });

async function loadError(service: ResolvedServiceConfig, baseDir = FIXTURES, file?: string): Promise<ConfigError> {
  try {
    await instantiateService(service, baseDir, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.field, 'class-name');
    assert.match(err.message, /class-name: service "/);
    return err;
  }
  assert.fail('expected instantiateService to fail');
}

void describe('instantiateService', () => {
  void it('creates a named export, falling back from .js to the .ts source', async () => {
    const instance = await instantiateService(svc('./counter-service.js#CounterService'), FIXTURES);
    assert.equal(instance.constructor.name, 'CounterService');
    assert.equal((instance as { kind: string }).kind, 'counter');
  });

  void it('creates the default export when there is no #', async () => {
    const instance = await instantiateService(svc('./counter-service.js'), FIXTURES);
    assert.equal((instance as { kind: string }).kind, 'default');
  });

  void it('accepts an absolute path and a .ts path', async () => {
    const instance = await instantiateService(svc(`${join(FIXTURES, 'counter-service.ts')}#CounterService`), '/nonexistent');
    assert.equal(instance.constructor.name, 'CounterService');
  });

  void it('returns a fresh instance each time', async () => {
    const a = await instantiateService(svc('./counter-service.js#CounterService'), FIXTURES);
    const b = await instantiateService(svc('./counter-service.js#CounterService'), FIXTURES);
    assert.notEqual(a, b);
  });

  void it('returns a programmatic implementation as-is', async () => {
    const implementation = { mine: true };
    const [resolved] = resolveConfig({ services: [{ name: 'Impl', implementation }] }).services;
    assert.equal(await instantiateService(resolved, FIXTURES), implementation);
  });

  void it('resolves relative to the config file directory via source.dir', async () => {
    const config = await loadConfig(join(FIXTURES, 'full.xml'));
    const instance = await instantiateService(config.services[0], config.source!.dir);
    assert.equal(instance.constructor.name, 'CounterService');
  });

  void it('missing module: names the service, the paths tried, and the config file and line', async () => {
    const config = resolveConfig({ services: [{ name: 'Ghost', className: './ghost.js#Ghost' }] });
    const err = await loadError(config.services[0], FIXTURES, 'shoal.xml');
    assert.equal(err.file, 'shoal.xml');
    assert.match(err.message, /^shoal\.xml: class-name: service "Ghost": cannot load "\.\/ghost\.js": module not found \(looked for .*ghost\.js and .*ghost\.ts\)$/);
  });

  void it('missing module from a loaded file points at the class-name line', async () => {
    const { parseXmlConfig } = await import('../../src/config/index.js');
    const text = '<shoal>\n<services>\n<service>\n<name>Ghost</name>\n<class-name>./ghost.js</class-name>\n</service>\n</services>\n</shoal>';
    const config = resolveConfig(parseXmlConfig(text, 'ghost.xml'));
    const err = await loadError(config.services[0]);
    assert.equal(err.file, 'ghost.xml');
    assert.equal(err.line, 5);
    assert.match(err.message, /^ghost\.xml:5: class-name: service "Ghost": cannot load "\.\/ghost\.js": module not found/);
  });

  void it('bare package name that does not exist', async () => {
    const err = await loadError(svc('CounterService'));
    assert.match(err.message, /no package "CounterService" can be resolved .*a file path must start with \.\/ or \.\.\//);
  });

  void it('missing export lists what the module exports', async () => {
    const err = await loadError(svc('./counter-service.js#Nope'));
    assert.match(err.message, /has no export "Nope" \(it exports CounterService, default\)/);
  });

  void it('missing default export', async () => {
    const err = await loadError(svc('./not-a-class.js'));
    assert.match(err.message, /has no default export \(it exports answer, makeService\)/);
  });

  void it('export that is not a constructor: a number', async () => {
    const err = await loadError(svc('./not-a-class.js#answer'));
    assert.match(err.message, /export "answer" of .*not-a-class\.ts is not a class \(got a number\)/);
  });

  void it('export that is not a constructor: an arrow function', async () => {
    const err = await loadError(svc('./not-a-class.js#makeService'));
    assert.match(err.message, /is not a class \(got a function that cannot be called with new\)/);
  });

  void it('constructor that throws keeps the cause', async () => {
    const err = await loadError(svc('./throwing-service.js#ThrowingService'));
    assert.match(err.message, /constructor of export "ThrowingService" of .*throwing-service\.ts threw: boom in constructor/);
    assert.ok(err.cause instanceof Error);
  });

  void it('module that fails to load keeps the cause', async () => {
    const err = await loadError(svc('./broken-module.js#X'));
    assert.match(err.message, /cannot load module .*broken-module\.ts: broken module body/);
    assert.ok(err.cause instanceof Error);
  });

  void it('a service with neither class name nor implementation', async () => {
    const err = await loadError({ name: 'Empty', enabled: true, properties: {} });
    assert.match(err.message, /service "Empty": neither a class name nor an implementation/);
  });
});
