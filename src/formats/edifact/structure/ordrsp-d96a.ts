import { message } from './group.js';

/**
 * ORDRSP (purchase order response), UN/EDIFACT D.96A: parties SG3 (NAD), currency SG8 (CUX), lines SG26 (LIN)
 * with prices SG30 (PRI) and references SG31 (RFF).
 * The directory's segment table: each segment and group with its status (M/C) and maximum repetitions.
 */
export const ORDRSP_D96A = message(
  'ORDRSP',
  '96A',
  `
    BGM M1 DTM M35 PAI C1 ALI C5 IMD C1 FTX C99
    SG1 C10 ( RFF M1 DTM C5 )
    SG2 C1 ( AJT M1 FTX C5 )
    SG3 C99 (
      NAD M1 LOC C25 FII C5
      SG4 C10 ( RFF M1 DTM C5 )
      SG5 C5 ( DOC M1 DTM C5 )
      SG6 C5 ( CTA M1 COM C5 )
    )
    SG7 C5 ( TAX M1 MOA C1 LOC C5 )
    SG8 C5 ( CUX M1 PCD C5 DTM C5 )
    SG9 C10 ( PAT M1 DTM C5 PCD C1 MOA C1 )
    SG10 C10 (
      TDT M1
      SG11 C10 ( LOC M1 DTM C5 )
    )
    SG12 C5 ( TOD M1 LOC C2 )
    SG13 C10 (
      PAC M1 MEA C5
      SG14 C5 ( PCI M1 RFF C1 DTM C5 GIN C99 )
    )
    SG15 C10 ( EQD M1 HAN C5 MEA C5 FTX C5 )
    SG16 C10 (
      SCC M1 FTX C5 RFF C5
      SG17 C10 ( QTY M1 DTM C5 )
    )
    SG18 C25 ( APR M1 DTM C5 RNG C1 )
    SG19 C15 (
      ALC M1 ALI C5 DTM C5
      SG20 C1 ( QTY M1 RNG C1 )
      SG21 C1 ( PCD M1 RNG C1 )
      SG22 C2 ( MOA M1 RNG C1 )
      SG23 C1 ( RTE M1 RNG C1 )
      SG24 C5 ( TAX M1 MOA C1 )
    )
    SG25 C100 ( RCS M1 RFF C5 DTM C5 FTX C5 )
    SG26 C200000 (
      LIN M1 PIA C25 IMD C99 MEA C5 QTY C10 PCD C5 ALI C5 DTM C35 MOA C10 GIN C1000 GIR C1000 QVR C1 DOC C5 PAI C1 FTX C99
      SG27 C999 ( CCI M1 CAV C10 MEA C10 )
      SG28 C10 ( PAT M1 DTM C5 PCD C1 MOA C1 )
      SG29 C1 ( AJT M1 FTX C5 )
      SG30 C25 ( PRI M1 CUX C1 APR C1 RNG C1 DTM C5 )
      SG31 C999 ( RFF M1 DTM C5 )
      SG32 C10 (
        PAC M1 MEA C5 QTY C5 DTM C5
        SG33 C1 ( RFF M1 DTM C5 )
        SG34 C5 ( PCI M1 RFF C1 DTM C5 GIN C99 )
      )
      SG35 C9999 ( LOC M1 QTY C1 DTM C5 )
      SG36 C10 ( TAX M1 MOA C1 LOC C5 )
      SG37 C99 (
        NAD M1 LOC C5
        SG38 C5 ( RFF M1 DTM C5 )
        SG39 C5 ( DOC M1 DTM C5 )
        SG40 C5 ( CTA M1 COM C5 )
      )
      SG41 C99 (
        ALC M1 ALI C5 DTM C5
        SG42 C1 ( QTY M1 RNG C1 )
        SG43 C1 ( PCD M1 RNG C1 )
        SG44 C2 ( MOA M1 RNG C1 )
        SG45 C1 ( RTE M1 RNG C1 )
        SG46 C5 ( TAX M1 MOA C1 )
      )
      SG47 C10 (
        TDT M1
        SG48 C10 ( LOC M1 DTM C5 )
      )
      SG49 C5 ( TOD M1 LOC C2 )
      SG50 C10 ( EQD M1 HAN C5 MEA C5 FTX C5 )
      SG51 C100 (
        SCC M1 FTX C5 RFF C5
        SG52 C10 ( QTY M1 DTM C5 )
      )
      SG53 C100 ( RCS M1 RFF C5 DTM C5 FTX C5 )
      SG54 C10 (
        STG M1
        SG55 C3 ( QTY M1 MOA C1 )
      )
    )
    UNS M1 MOA C12 CNT C10
    SG56 C10 ( ALC M1 ALI C1 MOA M2 )
  `,
);
