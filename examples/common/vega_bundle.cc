// Vega, Vega-Lite and vega-embed (npm; scripts/setup.sh installs them into third_party/vega at the
// versions its package-lock.json pins), assembled into the binary as NUL-terminated strings so a
// report needs no file at run time. JEPA_MPC_VEGA_DIR is that node_modules folder (CMake sets it).

#define JEPA_MPC_INCBIN(symbol, file)                                       \
  __asm__(".section .rodata\n.global " symbol "\n.type " symbol ", @object\n" \
          ".balign 16\n" symbol ":\n.incbin \"" JEPA_MPC_VEGA_DIR file "\"\n.byte 0\n.previous\n")

JEPA_MPC_INCBIN("jepa_mpc_vega_js", "/vega/build/vega.min.js");
JEPA_MPC_INCBIN("jepa_mpc_vega_lite_js", "/vega-lite/build/vega-lite.min.js");
JEPA_MPC_INCBIN("jepa_mpc_vega_embed_js", "/vega-embed/build/vega-embed.min.js");
