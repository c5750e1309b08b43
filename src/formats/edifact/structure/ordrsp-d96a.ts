import { group, message } from './group.js';

/**
 * ORDRSP (purchase order response), UN/EDIFACT D.96A: the header groups of ORDERS, then lines in
 * SG26 (LIN) with prices (SG30 PRI) and references (SG31 RFF).
 */
export const ORDRSP_D96A = message(
  'ORDRSP',
  '96A',
  ['BGM', 'DTM', 'PAI', 'ALI', 'IMD', 'FTX', 'UNS', 'MOA', 'CNT'],
  [
    group(1, 'RFF', ['DTM']),
    group(2, 'NAD', ['LOC', 'FII'], [group(3, 'RFF', ['DTM']), group(4, 'DOC', ['DTM']), group(5, 'CTA', ['COM'])]),
    group(6, 'TAX', ['MOA', 'LOC']),
    group(7, 'CUX', ['DTM']),
    group(8, 'PAT', ['DTM', 'PCD', 'MOA']),
    group(9, 'TDT', [], [group(10, 'LOC', ['DTM'])]),
    group(11, 'TOD', ['LOC']),
    group(12, 'PAC', ['MEA'], [group(13, 'PCI', ['RFF', 'DTM', 'GIN'])]),
    group(14, 'EQD', ['HAN', 'MEA', 'FTX']),
    group(15, 'SCC', ['FTX', 'RFF'], [group(16, 'QTY', ['DTM'])]),
    group(17, 'APR', ['DTM', 'RNG']),
    group(18, 'ALC', ['ALI', 'DTM'], [group(19, 'QTY', ['RNG']), group(20, 'PCD', ['RNG']), group(21, 'MOA', ['RNG']), group(22, 'RTE', ['RNG'])]),
    group(23, 'TAX', ['MOA']),
    group(24, 'RCS', ['RFF', 'DTM', 'FTX']),
    group(
      26,
      'LIN',
      ['PIA', 'IMD', 'MEA', 'QTY', 'PCD', 'ALI', 'DTM', 'MOA', 'GIN', 'GIR', 'QVR', 'DOC', 'PAI', 'FTX'],
      [
        group(27, 'PAT', ['DTM', 'PCD', 'MOA']),
        group(30, 'PRI', ['CUX', 'APR', 'RNG', 'DTM']),
        group(31, 'RFF', ['DTM']),
        group(32, 'PAC', ['MEA', 'QTY'], [group(33, 'PCI', ['RFF', 'DTM', 'GIN'])]),
        group(34, 'LOC', ['QTY', 'DTM']),
        group(35, 'TAX', ['MOA', 'LOC']),
        group(36, 'NAD', ['LOC'], [group(37, 'RFF', ['DTM']), group(38, 'DOC', ['DTM']), group(39, 'CTA', ['COM'])]),
        group(40, 'ALC', ['ALI', 'DTM'], [group(41, 'QTY', ['RNG']), group(42, 'PCD', ['RNG']), group(43, 'MOA', ['RNG']), group(44, 'RTE', ['RNG'])]),
        group(45, 'TAX', ['MOA']),
        group(46, 'TDT', [], [group(47, 'LOC', ['DTM'])]),
        group(48, 'TOD', ['LOC']),
        group(49, 'EQD', ['HAN', 'MEA', 'FTX']),
        group(50, 'SCC', ['FTX', 'RFF'], [group(51, 'QTY', ['DTM'])]),
        group(52, 'RCS', ['RFF', 'DTM', 'FTX']),
      ],
    ),
    group(55, 'ALC', ['ALI', 'MOA']),
  ],
);
