import { message } from './group.js';

/**
 * INVOIC (invoice), UN/EDIFACT D.96A. Lines are SG25 (LIN); the summary after UNS holds SG48 MOA, SG50 TAX, SG51 ALC.
 * The directory's segment table: each segment and group with its status (M/C) and maximum repetitions.
 */
export const INVOIC_D96A = message(
  'INVOIC',
  '96A',
  `
    BGM M1 DTM M35 PAI C1 ALI C5 IMD C1 FTX C10
    SG1 C99 ( RFF M1 DTM C5 )
    SG2 C99 (
      NAD M1 LOC C25 FII C5
      SG3 C9999 ( RFF M1 DTM C5 )
      SG4 C5 ( DOC M1 DTM C5 )
      SG5 C5 ( CTA M1 COM C5 )
    )
    SG6 C5 ( TAX M1 MOA C1 LOC C5 )
    SG7 C5 ( CUX M1 DTM C5 )
    SG8 C10 ( PAT M1 DTM C5 PCD C1 MOA C1 PAI C1 FII C1 )
    SG9 C10 (
      TDT M1
      SG10 C10 ( LOC M1 DTM C5 )
      SG11 C9999 ( RFF M1 DTM C5 )
    )
    SG12 C5 ( TOD M1 LOC C2 )
    SG13 C1000 (
      PAC M1 MEA C5
      SG14 C5 ( PCI M1 RFF C1 DTM C5 GIN C5 )
    )
    SG15 C9999 (
      ALC M1 ALI C5
      SG16 C5 ( RFF M1 DTM C5 )
      SG17 C1 ( QTY M1 RNG C1 )
      SG18 C1 ( PCD M1 RNG C1 )
      SG19 C2 ( MOA M1 RNG C1 )
      SG20 C1 ( RTE M1 RNG C1 )
      SG21 C5 ( TAX M1 MOA C1 )
    )
    SG22 C100 ( RCS M1 RFF C5 DTM C5 FTX C5 )
    SG23 C1 ( AJT M1 FTX C5 )
    SG24 C1 ( INP M1 FTX C5 )
    SG25 C9999999 (
      LIN M1 PIA C25 IMD C10 MEA C5 QTY C5 PCD C1 ALI C5 DTM C35 GIN C1000 GIR C1000 QVR C1 EQD C1 FTX C5
      SG26 C5 ( MOA M1 CUX C1 )
      SG27 C10 ( PAT M1 DTM C5 PCD C1 MOA C1 )
      SG28 C25 ( PRI M1 APR C1 RNG C1 DTM C5 )
      SG29 C10 ( RFF M1 DTM C5 )
      SG30 C10 (
        PAC M1 MEA C10
        SG31 C10 ( PCI M1 RFF C1 DTM C5 GIN C10 )
      )
      SG32 C9999 ( LOC M1 QTY C100 DTM C5 )
      SG33 C99 ( TAX M1 MOA C1 LOC C5 )
      SG34 C20 (
        NAD M1 LOC C5
        SG35 C5 ( RFF M1 DTM C5 )
        SG36 C5 ( DOC M1 DTM C5 )
        SG37 C5 ( CTA M1 COM C5 )
      )
      SG38 C15 (
        ALC M1 ALI C5 DTM C5
        SG39 C1 ( QTY M1 RNG C1 )
        SG40 C1 ( PCD M1 RNG C1 )
        SG41 C2 ( MOA M1 RNG C1 )
        SG42 C1 ( RTE M1 RNG C1 )
        SG43 C5 ( TAX M1 MOA C1 )
      )
      SG44 C10 (
        TDT M1
        SG45 C10 ( LOC M1 DTM C5 )
      )
      SG46 C5 ( TOD M1 LOC C2 )
      SG47 C100 ( RCS M1 RFF C5 DTM C5 FTX C5 )
    )
    UNS M1 CNT C10
    SG48 M100 (
      MOA M1
      SG49 C1 ( RFF M1 DTM C5 )
    )
    SG50 C10 ( TAX M1 MOA C2 )
    SG51 C15 ( ALC M1 ALI C1 MOA C2 )
  `,
);
