import type { Channel, PartnerProfile } from '../types.js';

/**
 * Why a known partner is refused at a door its profile does not list, and what fixes it: every door
 * (REST, AS2, SFTP) says the same thing in its own answer or log.
 */
export function channelNotListed(partner: Pick<PartnerProfile, 'id' | 'channels'>, channel: Channel, doing: string): string {
  const listed = partner.channels.length ? `it lists ${partner.channels.join(', ')}` : 'it lists none';
  return (
    `Partner ${partner.id} may not ${doing}: its profile does not list \`${channel}\` under channels (${listed}). ` +
    `A partner manager adds \`${channel}\` to the channels in partners/${partner.id}.yaml.`
  );
}
