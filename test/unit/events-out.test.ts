import assert from 'node:assert/strict';
import { receives, stableEventId } from '../../src/delivery/events-out.js';
import { readSettings } from '../../src/config/env.js';
import { loginFor, urlAllowed, type Subscription } from '../../src/delivery/subscriptions.js';

describe('events out: allow-lists and who receives what', () => {
  const hooks = ['https://hooks.example/gateway/', 'https://erp.example/one-hook'];

  it('allows an entry itself and URLs below an entry ending in /, nothing else', () => {
    assert.equal(urlAllowed('https://hooks.example/gateway/events', hooks), true);
    assert.equal(urlAllowed('https://erp.example/one-hook', hooks), true);
    assert.equal(urlAllowed('https://erp.example/one-hook/below', hooks), false);
    assert.equal(urlAllowed('https://hooks.example/gateway', hooks), false);
    assert.equal(urlAllowed('https://hooks.example.evil/gateway/x', hooks), false);
    assert.equal(urlAllowed('http://hooks.example/gateway/x', hooks), false);
  });

  it('compares the URL the client will request: no climbing out of an entry, no credentials', () => {
    assert.equal(urlAllowed('https://hooks.example/gateway/../admin', hooks), false);
    assert.equal(urlAllowed('https://hooks.example/gateway/%2e%2e/admin', hooks), false);
    assert.equal(urlAllowed('https://user:pw@hooks.example/gateway/x', hooks), false);
    assert.equal(urlAllowed('not a url', hooks), false);
  });

  const sub = (owner: 'erp' | 'partner', partnerId: string | null): Subscription => ({
    id: 's',
    owner,
    partnerId,
    url: 'https://hooks.example/gateway/x',
    types: ['document.received', 'credential.expiring'],
    description: null,
    createdAt: new Date(),
  });

  it("allows broker URLs as webhook URLs, and takes a broker's login from the entry that allows it", () => {
    const entries = [
      'nats://nats.example:4222',
      { url: 'amqp://rabbit.example:5672/', username: 'gateway', passwordEnv: 'RABBIT_PASSWORD' },
      'amqp://other.example:5672/erp',
    ];
    assert.equal(urlAllowed('nats://nats.example:4222', entries), true);
    assert.equal(urlAllowed('nats://nats.example:4223', entries), false);
    assert.equal(urlAllowed('amqp://rabbit.example:5672/erp', entries), true);
    assert.equal(urlAllowed('amqp://rabbit.example:5672/../x', entries), true, 'resolved to a vhost below the entry');
    assert.equal(urlAllowed('amqps://rabbit.example:5672/erp', entries), false);
    assert.equal(urlAllowed('amqp://gateway@rabbit.example:5672/erp', entries), false, 'a subscriber names no user');
    assert.deepEqual(loginFor('amqp://rabbit.example:5672/erp', entries), { username: 'gateway', passwordEnv: 'RABBIT_PASSWORD' });
    assert.deepEqual(loginFor('amqp://other.example:5672/erp', entries), {});
    assert.deepEqual(loginFor('amqp://elsewhere.example:5672/', entries), {});
  });

  it('reads a user name in an ERP_EVENT_URLS broker entry as a login with ERP_EVENT_BROKER_PASSWORD, never a password', () => {
    const env = { ERP_EVENT_URLS: 'https://erp.example/hooks/,amqp://gateway@rabbit.example:5672/', ERP_EVENT_BROKER_PASSWORD: 'pw' };
    assert.deepEqual(readSettings(env).events.erpUrls, [
      'https://erp.example/hooks/',
      { url: 'amqp://rabbit.example:5672/', username: 'gateway', passwordEnv: 'ERP_EVENT_BROKER_PASSWORD' },
    ]);
    assert.throws(() => readSettings({ ERP_EVENT_URLS: 'amqp://gateway@rabbit.example:5672/' }), /ERP_EVENT_BROKER_PASSWORD/);
    assert.throws(() => readSettings({ ...env, ERP_EVENT_URLS: 'amqp://gateway:secret@rabbit.example:5672/' }), /ERP_EVENT_URLS/);
  });

  it("gives a partner's subscription its own partner's events only, and the ERP's every one or its partner's", () => {
    const nw = { type: 'document.received' as const, partnerId: 'northwind' };
    const acme = { type: 'document.received' as const, partnerId: 'acme-supply' };
    const gateway = { type: 'credential.expiring' as const, partnerId: null };
    assert.deepEqual(
      [nw, acme, gateway].map((e) => receives(sub('partner', 'northwind'), e)),
      [true, false, false],
    );
    assert.deepEqual(
      [nw, acme, gateway].map((e) => receives(sub('erp', null), e)),
      [true, true, true],
    );
    assert.deepEqual(
      [nw, acme, gateway].map((e) => receives(sub('erp', 'acme-supply'), e)),
      [false, true, false],
    );
    assert.equal(receives(sub('erp', null), { type: 'ack.overdue', partnerId: 'northwind' }), false, 'a type it did not name');
  });

  it('derives the same UUID from the same fact, another from another', () => {
    const id = stableEventId('document.received', 'doc-1');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(stableEventId('document.received', 'doc-1'), id);
    assert.notEqual(stableEventId('document.received', 'doc-2'), id);
  });
});
