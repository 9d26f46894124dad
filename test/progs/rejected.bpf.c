// SPDX-License-Identifier: GPL-2.0
// rejected: compiles, but the verifier refuses it, always in the same place. It tests that
// a load failure becomes a VerifierError carrying the verifier log and the source line.
//
// bpf_map_lookup_elem returns NULL for a missing key, so its result has the verifier type
// PTR_TO_MAP_VALUE_OR_NULL until a NULL check. Dereferencing it without one fails with
//     R0 invalid mem access 'map_value_or_null'
// at the load of *count (the line marked below).
// The map is a hash on purpose: recent verifiers (the 6.18 kernel we test on does this)
// know that an array lookup with a constant in-range key cannot fail and drop the
// _or_null, which would make this program valid.
// Section "xdp", function xdp_unchecked_lookup; map `counts`: HASH, __u32 -> __u64, 1 entry.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} counts SEC(".maps");

SEC("xdp")
int xdp_unchecked_lookup(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&counts, &key);
	*count += 1; // rejected here: no NULL check on count
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
