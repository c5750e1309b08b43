/**
 * Segment layouts of the UN/EDIFACT D.96A directory, for every segment the DESADV, INVOIC, ORDERS and
 * ORDRSP segment tables (./*-d96a.ts) list (decision 0051):
 *
 * - SEGMENTS (EDSD): each segment's data elements in order, simple (`1225`) or composite (`C002`), with
 *   its status, M mandatory or C conditional. UNS (section control) is ISO 9735's; UNH and UNT are
 *   left to the envelope (../envelope.ts).
 * - COMPOSITES (EDCD): each composite's components in order with their status.
 * - ELEMENTS (EDED): each simple element's representation: `a` alphabetic, `n` numeric, `an`
 *   alphanumeric; `..35` at most 35 characters, `3` exactly 3.
 *
 * Transcribed from php-edifact/edifact-mapping (src/Mapping/D96A/segments.xml: order, status, type
 * and maximum length), with the fixed lengths (`n3`, `n4`, `an4`) from the UNTDID D.96A text; 36 of
 * the segments and 175 of the elements compared line by line with the UNTDID D.96A text.
 */

export const SEGMENTS = `
  AJT  4465 M  1082 C
  ALC  5463 M  C552 C  4471 C  1227 C  C214 C
  ALI  3239 C  9213 C  4183 C  4183 C  4183 C  4183 C  4183 C
  APR  4043 C  C138 C  C960 C
  BGM  C002 C  1004 C  1225 C  4343 C
  CAV  C889 M
  CCI  7059 C  C502 C  C240 C
  CNT  C270 M
  COM  C076 M
  CPS  7164 M  7166 C  7075 C
  CTA  3139 C  C056 C
  CUX  C504 C  C504 C  5402 C  6341 C
  DGS  8273 C  C205 C  C234 C  C223 C  8339 C  8364 C  8410 C  8126 C  C235 C  C236 C  8255 C  8325 C  8211 C
  DLM  4455 C  C522 C  C214 C  4457 C
  DOC  C002 M  C503 C  3153 C  1220 C  1218 C
  DTM  C507 M
  EQA  8053 M  C237 C
  EQD  8053 M  C237 C  C224 C  8077 C  8249 C  8169 C
  FII  3035 M  C078 C  C088 C  3207 C
  FTX  4451 M  4453 C  C107 C  C108 C  3453 C
  GIN  7405 M  C208 M  C208 C  C208 C  C208 C  C208 C
  GIR  7297 M  C206 M  C206 C  C206 C  C206 C  C206 C
  HAN  C524 C  C218 C
  IMD  7077 C  7081 C  C273 C  7383 C
  INP  C849 C  C522 C  C850 C  1229 C
  LIN  1082 C  1229 C  C212 C  C829 C  1222 C  7083 C
  LOC  3227 M  C517 C  C519 C  C553 C  5479 C
  MEA  6311 M  C502 C  C174 C  7383 C
  MOA  C516 M
  NAD  3035 M  C082 C  C058 C  C080 C  C059 C  3164 C  3229 C  3251 C  3207 C
  PAC  7224 C  C531 C  C202 C  C402 C  C532 C
  PAI  C534 M
  PAT  4279 M  C110 C  C112 C
  PCD  C501 M
  PCI  4233 C  C210 C  8275 C  C827 C
  PIA  4347 M  C212 M  C212 C  C212 C  C212 C  C212 C
  PRI  C509 C  5213 C
  QTY  C186 M
  QVR  C279 C  4221 C  C960 C
  RCS  7293 M  C550 C  1229 C
  RFF  C506 M
  RNG  6167 M  C280 C
  RTE  C128 M
  SCC  4017 M  4493 C  C329 C
  SEL  9308 M  C215 C  4517 C
  SGP  C237 M  7224 C
  STG  9421 M  6426 C  6428 C
  TAX  5283 M  C241 C  C533 C  5286 C  C243 C  5305 C  3446 C
  TDT  8051 M  8028 C  C220 C  C228 C  C040 C  8101 C  C401 C  C222 C  8281 C
  TOD  4055 C  4215 C  C100 C
  UNS  0081 M
`;

export const COMPOSITES = `
  C002  1001 C  1131 C  3055 C  1000 C
  C040  3127 C  1131 C  3055 C  3128 C
  C056  3413 C  3412 C
  C058  3124 M  3124 C  3124 C  3124 C  3124 C
  C059  3042 M  3042 C  3042 C  3042 C
  C076  3148 M  3155 M
  C078  3194 C  3192 C  3192 C  6345 C
  C080  3036 M  3036 C  3036 C  3036 C  3036 C  3045 C
  C082  3039 M  1131 C  3055 C
  C088  3433 C  1131 C  3055 C  3434 C  1131 C  3055 C  3432 C  3436 C
  C100  4053 C  1131 C  3055 C  4052 C  4052 C
  C107  4441 M  1131 C  3055 C
  C108  4440 M  4440 C  4440 C  4440 C  4440 C
  C110  4277 M  1131 C  3055 C  4276 C  4276 C
  C112  2475 M  2009 C  2151 C  2152 C
  C128  5419 M  5420 M  5284 C  6411 C
  C138  5394 M  5393 C
  C174  6411 M  6314 C  6162 C  6152 C  6432 C
  C186  6063 M  6060 M  6411 C
  C202  7065 C  1131 C  3055 C  7064 C
  C205  8351 M  8078 C  8092 C
  C206  7402 M  7405 C  4405 C
  C208  7402 M  7402 C
  C210  7102 M  7102 C  7102 C  7102 C  7102 C  7102 C  7102 C  7102 C  7102 C  7102 C
  C212  7140 C  7143 C  1131 C  3055 C
  C214  7161 C  1131 C  3055 C  7160 C  7160 C
  C215  9303 C  1131 C  3055 C  9302 C
  C218  7419 C  1131 C  3055 C
  C220  8067 C  8066 C
  C222  8213 C  1131 C  3055 C  8212 C  8453 C
  C223  7106 C  6411 C
  C224  8155 C  1131 C  3055 C  8154 C
  C228  8179 C  8178 C
  C234  7124 C  7088 C
  C235  8158 C  8186 C
  C236  8246 C  8246 C  8246 C
  C237  8260 C  1131 C  3055 C  3207 C
  C240  7037 M  1131 C  3055 C  7036 C  7036 C
  C241  5153 C  1131 C  3055 C  5152 C
  C243  5279 C  1131 C  3055 C  5278 C  5273 C  1131 C  3055 C
  C270  6069 M  6066 M  6411 C
  C273  7009 C  1131 C  3055 C  7008 C  7008 C  3453 C
  C279  6064 M  6063 C
  C280  6411 M  6162 C  6152 C
  C329  2013 C  2015 C  2017 C
  C401  8457 M  8459 M  7130 C
  C402  7077 M  7064 M  7143 C  7064 C  7143 C
  C501  5245 M  5482 C  5249 C  1131 C  3055 C
  C502  6313 C  6321 C  6155 C  6154 C
  C503  1004 C  1373 C  1366 C  3453 C
  C504  6347 M  6345 C  6343 C  6348 C
  C506  1153 M  1154 C  1156 C  4000 C
  C507  2005 M  2380 C  2379 C
  C509  5125 M  5118 C  5375 C  5387 C  5284 C  6411 C
  C516  5025 M  5004 C  6345 C  6343 C  4405 C
  C517  3225 C  1131 C  3055 C  3224 C
  C519  3223 C  1131 C  3055 C  3222 C
  C522  4403 M  4401 C  1131 C  3055 C  4400 C
  C524  4079 C  1131 C  3055 C  4078 C
  C531  7075 C  7233 C  7073 C
  C532  8395 C  8393 C
  C533  5289 M  1131 C  3055 C
  C534  4439 C  4431 C  4461 C  1131 C  3055 C  4435 C
  C550  7295 M  1131 C  3055 C  7294 C
  C552  1230 C  5189 C
  C553  3233 C  1131 C  3055 C  3232 C
  C827  7511 M  1131 C  3055 C
  C829  5495 C  1082 C
  C849  3301 M  3285 C
  C850  4405 M  3036 C
  C889  7111 C  1131 C  3055 C  7110 C  7110 C
  C960  4295 C  1131 C  3055 C  4294 C
`;

export const ELEMENTS = `
  1000 an..35  1001 an..3  1004 an..35  1082 n..6  1131 an..3  1153 an..3  1154 an..35  1156 an..6
  1218 n..2  1220 n..2  1222 n..2  1225 an..3  1227 an..3  1229 an..3  1230 an..35  1366 an..35
  1373 an..3  2005 an..3  2009 an..3  2013 an..3  2015 an..3  2017 an..3  2151 an..3  2152 n..3
  2379 an..3  2380 an..35  2475 an..3  3035 an..3  3036 an..35  3039 an..35  3042 an..35  3045 an..3
  3055 an..3  3124 an..35  3127 an..17  3128 an..35  3139 an..3  3148 an..512  3153 an..3  3155 an..3
  3164 an..35  3192 an..35  3194 an..35  3207 an..3  3222 an..70  3223 an..25  3224 an..70  3225 an..25
  3227 an..3  3229 an..9  3232 an..70  3233 an..25  3239 an..3  3251 an..9  3285 an..17  3301 an..17
  3412 an..35  3413 an..17  3432 an..70  3433 an..11  3434 an..17  3436 an..70  3446 an..20  3453 an..3
  4000 an..35  4017 an..3  4043 an..3  4052 an..70  4053 an..3  4055 an..3  4078 an..70  4079 an..3
  4183 an..3  4215 an..3  4221 an..3  4233 an..3  4276 an..35  4277 an..17  4279 an..3  4294 an..35
  4295 an..3  4343 an..3  4347 an..3  4400 an..35  4401 an..3  4403 an..3  4405 an..3  4431 an..3
  4435 an..3  4439 an..3  4440 an..70  4441 an..3  4451 an..3  4453 an..3  4455 an..3  4457 an..3
  4461 an..3  4465 an..3  4471 an..3  4493 an..3  4517 an..3  5004 n..18  5025 an..3  5118 n..15
  5125 an..3  5152 an..35  5153 an..3  5189 an..3  5213 an..3  5245 an..3  5249 an..3  5273 an..12
  5278 an..17  5279 an..7  5283 an..3  5284 n..9  5286 an..15  5289 an..6  5305 an..3  5375 an..3
  5387 an..3  5393 an..3  5394 n..12  5402 n..12  5419 an..3  5420 n..15  5463 an..3  5479 an..3
  5482 n..10  5495 an..3  6060 n..15  6063 an..3  6064 n..15  6066 n..18  6069 an..3  6152 n..18
  6154 an..70  6155 an..3  6162 n..18  6167 an..3  6311 an..3  6313 an..3  6314 n..18  6321 an..3
  6341 an..3  6343 an..3  6345 an..3  6347 an..3  6348 n..4  6411 an..3  6426 n..2  6428 n..2
  6432 n..2  7008 an..35  7009 an..17  7036 an..35  7037 an..17  7059 an..3  7064 an..35  7065 an..17
  7073 an..3  7075 an..3  7077 an..3  7081 an..3  7083 an..3  7088 an..8  7102 an..35  7106 n3
  7110 an..35  7111 an..3  7124 n4  7130 an..17  7140 an..35  7143 an..3  7160 an..35  7161 an..3
  7164 an..12  7166 an..12  7224 n..8  7233 an..3  7293 an..3  7294 an..35  7295 an..17  7297 an..3
  7383 an..3  7402 an..35  7405 an..3  7419 an..4  7511 an..3  8028 an..17  8051 an..3  8053 an..3
  8066 an..17  8067 an..3  8077 an..3  8078 an..7  8092 an..10  8101 an..3  8126 an..10  8154 an..35
  8155 an..10  8158 an..4  8169 an..3  8178 an..17  8179 an..8  8186 an4  8211 an..3  8212 an..35
  8213 an..9  8246 an..4  8249 an..3  8255 an..3  8260 an..17  8273 an..3  8275 an..3  8281 an..3
  8325 an..3  8339 an..3  8351 an..7  8364 an..6  8393 an..3  8395 an..3  8410 an..4  8453 an..3
  8457 an..3  8459 an..3  9213 an..3  9302 an..35  9303 an..3  9308 an..10  9421 an..3
  0081 a1
`;
