import path from 'node:path/posix';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../config/load.js';
import { pushSettled } from '../../pipeline/delivery-effects.js';
import type { OutboxItem, Outcome, TimelineNote, Transport } from '../../delivery/transport.js';
import { GatewayError, isGatewayError } from '../../errors.js';
import { connectRemote, type Session } from './remote.js';
import { isSuspended } from '../../types.js';

/**
 * The outbox transport that pushes a mailbox document to the partner's own SFTP server
 * (`sftp.remote.delivery`): written under a temporary name, then renamed, so the partner never reads
 * half a file. The file name is the document's, so a retry or a replay overwrites the same file.
 */
export function sftpPushTransport(knex: Knex, config: () => GatewayConfig): Transport {
  return { send: (item) => push(knex, config, item), settle: pushSettled };
}

async function push(knex: Knex, config: () => GatewayConfig, item: OutboxItem): Promise<Outcome> {
  const partner = config().partners.get(item.partnerId);
  const remote = partner?.sftp?.remote;
  const delivery = remote?.delivery;
  if (!partner || !remote || !delivery)
    throw new GatewayError('GW_DELIVERY_TARGET', `partner ${item.partnerId} has no sftp.remote.delivery in its profile any more; nowhere to push to`);
  if (isSuspended(partner)) throw new GatewayError('GW_PARTNER_INACTIVE', `partner ${item.partnerId} is suspended; nothing is pushed to it`);
  const message = await knex('messages').first('raw', 'file_name', 'collected_at').where('id', item.messageId);
  if (message.collected_at) return { status: 'delivered', detail: 'the partner collected the document from its mailbox first; not pushed' };
  const target = path.join(delivery.dir, message.file_name);
  let session: Session | undefined;
  try {
    session = await connectRemote(partner, remote);
    await session.writeFile(`${target}${delivery.tempSuffix}`, message.raw);
    await session.rename(`${target}${delivery.tempSuffix}`, target);
  } catch (err) {
    const error = isGatewayError(err) ? err : new GatewayError('GW_SFTP_REMOTE', (err as Error).message, { cause: err });
    const notes: TimelineNote[] = error.code === 'GW_SFTP_HOST_KEY' ? [{ type: 'sftp.host-key-mismatch', code: error.code, detail: error.message }] : [];
    return { status: 'failed', error, notes };
  } finally {
    session?.end();
  }
  return { status: 'delivered', detail: `written to sftp://${remote.host}:${remote.port}${target}` };
}
