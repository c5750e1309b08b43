import { group, message } from './group.js';

/** ORDERS (purchase order), UN/EDIFACT D.96A: parties SG2 (NAD), currency SG7 (CUX), lines SG25 (LIN) with prices SG28 (PRI). */
export const ORDERS_D96A = message(
  'ORDERS',
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
    group(24, 'RCS', ['RFF', 'DTM', 'FTX']),
    group(
      25,
      'LIN',
      ['PIA', 'IMD', 'MEA', 'QTY', 'PCD', 'ALI', 'DTM', 'MOA', 'GIN', 'GIR', 'QVR', 'DOC', 'PAI', 'FTX'],
      [
        group(26, 'PAT', ['DTM', 'PCD', 'MOA']),
        group(28, 'PRI', ['CUX', 'APR', 'RNG', 'DTM']),
        group(29, 'RFF', ['DTM']),
        group(30, 'PAC', ['MEA', 'QTY'], [group(31, 'PCI', ['RFF', 'DTM', 'GIN'])]),
        group(32, 'LOC', ['QTY', 'DTM']),
        group(33, 'TAX', ['MOA', 'LOC']),
        group(34, 'NAD', ['LOC'], [group(35, 'RFF', ['DTM']), group(36, 'DOC', ['DTM']), group(37, 'CTA', ['COM'])]),
        group(38, 'ALC', ['ALI', 'DTM'], [group(39, 'QTY', ['RNG']), group(40, 'PCD', ['RNG']), group(41, 'MOA', ['RNG']), group(42, 'RTE', ['RNG'])]),
        group(44, 'TDT', [], [group(45, 'LOC', ['DTM'])]),
        group(46, 'TOD', ['LOC']),
        group(47, 'EQD', ['HAN', 'MEA', 'FTX']),
        group(48, 'SCC', ['FTX', 'RFF'], [group(49, 'QTY', ['DTM'])]),
        group(51, 'RCS', ['RFF', 'DTM', 'FTX']),
      ],
    ),
    group(53, 'ALC', ['ALI', 'MOA']),
  ],
);
