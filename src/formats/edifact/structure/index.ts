import { DESADV_D96A } from './desadv-d96a.js';
import type { MessageStructure } from './group.js';
import { INVOIC_D96A } from './invoic-d96a.js';
import { ORDERS_D96A } from './orders-d96a.js';
import { ORDRSP_D96A } from './ordrsp-d96a.js';

export { allGroups, type GroupDef, type MessageStructure, type SegmentDef } from './group.js';

/**
 * The message structures the gateway knows: the whole segment tables of the UN/EDIFACT D.96A
 * directory (group numbers, order, status, repetitions), used for mapping paths and for the
 * structure check (decision 0048).
 */
export const STRUCTURES: readonly MessageStructure[] = [DESADV_D96A, INVOIC_D96A, ORDRSP_D96A, ORDERS_D96A];

export function structureOf(type: string, version: string, release: string): MessageStructure | undefined {
  return STRUCTURES.find((s) => s.type === type && s.version === version && s.release === release);
}
