import { group, message } from './group.js';

/** DESADV (despatch advice), UN/EDIFACT D.96A. Packing (SG10 CPS) holds packages (SG11) and lines (SG15). */
export const DESADV_D96A = message(
  'DESADV',
  '96A',
  ['BGM', 'DTM', 'ALI', 'MEA', 'MOA', 'CNT'],
  [
    group(1, 'RFF', ['DTM']),
    group(2, 'NAD', ['LOC'], [group(3, 'RFF', ['DTM']), group(4, 'CTA', ['COM'])]),
    group(5, 'TOD', ['LOC']),
    group(6, 'TDT', ['PCD'], [group(7, 'LOC', ['DTM'])]),
    group(8, 'EQD', ['MEA', 'SEL', 'EQA'], [group(9, 'HAN', ['FTX'])]),
    group(
      10,
      'CPS',
      ['FTX'],
      [
        group(11, 'PAC', ['MEA', 'QTY'], [group(12, 'HAN', ['FTX']), group(13, 'PCI', ['RFF', 'DTM', 'GIR'], [group(14, 'GIN', ['DLM'])])]),
        group(
          15,
          'LIN',
          ['PIA', 'IMD', 'MEA', 'QTY', 'ALI', 'GIN', 'GIR', 'DLM', 'DTM', 'FTX', 'MOA'],
          [
            group(16, 'RFF', ['DTM']),
            group(17, 'DGS', ['QTY', 'FTX']),
            group(18, 'LOC', ['NAD', 'DTM', 'QTY']),
            group(19, 'SGP', ['QTY']),
            group(20, 'PCI', ['DTM', 'MEA', 'QTY'], [group(21, 'GIN', ['DLM']), group(22, 'HAN', ['FTX', 'GIN'])]),
            group(23, 'QVR', ['DTM']),
          ],
        ),
      ],
    ),
  ],
);
