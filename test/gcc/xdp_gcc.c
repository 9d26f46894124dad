// xdp_gcc: a program in the style gcc-bpf (Debian gcc-bpf, GCC 12) compiles: helpers
// declared with __attribute__((kernel_helper(N))), a legacy `maps` definition. GCC 12 writes
// BTF the kernel refuses as is (char as SIGNED|CHAR, helper FUNCs with unnamed parameters),
// which the loader sanitizes. Compiled at test time: bpf-gcc -O2 -gbtf.
#include <linux/bpf.h>
static void *bpf_map_lookup_elem(void *map, const void *key) __attribute__((kernel_helper(1)));
struct { int type; int key_size; int value_size; int max_entries; } counts __attribute__((section("maps"))) = { BPF_MAP_TYPE_ARRAY, 4, 8, 4 };
__attribute__((section("xdp"), used)) int xdp_gcc(struct xdp_md *ctx) {
  int key = 0;
  long *v = bpf_map_lookup_elem(&counts, &key);
  if (v) __sync_fetch_and_add(v, 1);
  return XDP_PASS;
}
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
