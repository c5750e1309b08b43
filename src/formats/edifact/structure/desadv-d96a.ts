import { message } from './group.js';

/**
 * DESADV (despatch advice), UN/EDIFACT D.96A. Packing (SG10 CPS) holds packages (SG11) and lines (SG15).
 * The directory's segment table: each segment and group with its status (M/C) and maximum repetitions.
 */
export const DESADV_D96A = message(
  'DESADV',
  '96A',
  `
    BGM M1 DTM C10 ALI C5 MEA C5 MOA C5
    SG1 C10 ( RFF M1 DTM C1 )
    SG2 C10 (
      NAD M1 LOC C10
      SG3 C10 ( RFF M1 DTM C1 )
      SG4 C10 ( CTA M1 COM C5 )
    )
    SG5 C10 ( TOD M1 LOC C5 FTX C5 )
    SG6 C10 (
      TDT M1 PCD C6
      SG7 C10 ( LOC M1 DTM C10 )
    )
    SG8 C10 (
      EQD M1 MEA C5 SEL C25 EQA C5
      SG9 C10 ( HAN M1 FTX C10 )
    )
    SG10 C9999 (
      CPS M1 FTX C5
      SG11 C9999 (
        PAC M1 MEA C10 QTY C10
        SG12 C10 ( HAN M1 FTX C10 )
        SG13 C1000 (
          PCI M1 RFF C1 DTM C5 GIR C99
          SG14 C99 ( GIN M1 DLM C10 )
        )
      )
      SG15 C9999 (
        LIN M1 PIA C10 IMD C25 MEA C10 QTY C10 ALI C10 GIN C100 GIR C100 DLM C100 DTM C5 FTX C5 MOA C5
        SG16 C10 ( RFF M1 DTM C1 )
        SG17 C10 ( DGS M1 QTY C1 FTX C5 )
        SG18 C100 ( LOC M1 NAD C1 DTM C1 QTY C10 )
        SG19 C1000 ( SGP M1 QTY C10 )
        SG20 C9999 (
          PCI M1 DTM C5 MEA C10 QTY C1
          SG21 C10 ( GIN M1 DLM C100 )
          SG22 C10 ( HAN M1 FTX C5 GIN C1000 )
        )
        SG23 C10 ( QVR M1 DTM C5 )
      )
    )
    CNT C5
  `,
);
