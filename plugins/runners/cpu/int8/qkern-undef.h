/* qkern-undef.h: clears the macros an ISA file set for qkern.inc.h, so the
 * ISA files can share one translation unit (tests include them all). */
#undef VL
#undef NV
#undef MR
#undef KG
#undef KSUF
#undef QKNAME
#undef XELEM
#undef acc_t
#undef xv_t
#undef w_t
#undef AZERO
#undef XLOAD
#undef WSET1
#undef MADD
#undef ACC_ADD
#undef STORE_I32
#undef STORE_Q
#undef QDW_CUSTOM
#undef STORE_QTILE
#undef QTILE_FULL_DIRECT
#undef STORE_QSPLIT
#undef STORE_QADD
