import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { readSettings } from '../../src/config/env.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { createLogger } from '../../src/observability/logger.js';
import { registerCredentialExpiry, registerStoreGauges } from '../../src/observability/store-gauges.js';
import { REPO } from '../helpers/corpus.js';

/** Every gateway metric the composition root registers (the store's gauges are not read: nothing scrapes here). */
function gatewayMetricNames(): string[] {
  const metrics = new GatewayMetrics();
  const log = createLogger('silent');
  registerStoreGauges(metrics, {} as Knex, log);
  registerCredentialExpiry(metrics, async () => [], log);
  metrics.registerSftpSessions(() => 0);
  return metrics.registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter((name) => name.startsWith('gateway_'));
}

describe('metrics: the catalogue and the dashboard follow the code', () => {
  const names = gatewayMetricNames();

  it('registers the metrics an operator charts', () => {
    assert.ok(names.length >= 15, names.join(' '));
  });

  it('lists every metric in docs/metrics.md, and no metric that does not exist', () => {
    const doc = readFileSync(path.join(REPO, 'docs', 'metrics.md'), 'utf8');
    for (const name of names) assert.ok(doc.includes(`\`${name}\``), `${name} is missing from docs/metrics.md`);
    const documented = new Set([...doc.matchAll(/`(gateway_[a-z_]+)`/g)].map((m) => m[1] as string));
    for (const name of documented) assert.ok(names.includes(name), `docs/metrics.md lists ${name}, which the gateway does not register`);
  });

  it('charts every metric in docs/grafana-dashboard.json', () => {
    const dashboard = readFileSync(path.join(REPO, 'docs', 'grafana-dashboard.json'), 'utf8');
    const exprs = JSON.stringify(JSON.parse(dashboard));
    for (const name of names) assert.ok(exprs.includes(name), `${name} is not on the dashboard`);
  });
});

describe('metrics: settings', () => {
  it('serves metrics only with a token of at least 16 characters; a port of their own needs the token', () => {
    assert.deepEqual(readSettings({}).metrics, {});
    assert.deepEqual(readSettings({ METRICS_TOKEN: 'a-token-of-16-ch' }).metrics, { token: 'a-token-of-16-ch' });
    assert.deepEqual(readSettings({ METRICS_TOKEN: 'a-token-of-16-ch', METRICS_PORT: '9464' }).metrics, { token: 'a-token-of-16-ch', port: 9464 });
    assert.throws(() => readSettings({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN/);
    assert.throws(() => readSettings({ METRICS_TOKEN: 'has a space in it!' }), /METRICS_TOKEN/);
    assert.throws(() => readSettings({ METRICS_PORT: '9464' }), /METRICS_PORT needs METRICS_TOKEN/);
  });
});

describe('metrics: labels stay bounded', () => {
  it('labels a partner that is not configured, and a code outside the catalogue, as "other"', async () => {
    const metrics = new GatewayMetrics((id) => id === 'acme-supply');
    metrics.messageReceived({ partnerId: 'acme-supply', channel: 'rest', format: 'json' });
    metrics.messageReceived({ partnerId: 'f3b1c2d4-unknown', channel: 'rest', format: 'json' });
    metrics.deliveryFailed({ targetId: 'erp-http', kind: 'http' }, 'ECONNRESET', false);
    metrics.documentsInterpreted('acme-supply', [{ type: 'asn', state: 'rejected', code: 'GW_CANONICAL_INVALID', n: 2 }]);
    const { text } = await metrics.render();
    assert.match(text, /^gateway_messages_received_total\{partner="acme-supply",channel="rest",format="json"\} 1$/m);
    assert.match(text, /^gateway_messages_received_total\{partner="other",channel="rest",format="json"\} 1$/m);
    assert.ok(!text.includes('f3b1c2d4'));
    assert.match(text, /^gateway_delivery_failures_total\{target="erp-http",kind="http",code="other"\} 1$/m);
    assert.match(text, /^gateway_documents_rejected_total\{partner="acme-supply",type="asn",code="GW_CANONICAL_INVALID"\} 2$/m);
  });
});
