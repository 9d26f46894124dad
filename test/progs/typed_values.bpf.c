// SPDX-License-Identifier: GPL-2.0
// typed_values: map values with a C layout worth decoding through BTF (maps/btf-codec.ts).
//
// Maps (BTF-defined, section ".maps"):
//   config   BPF_MAP_TYPE_ARRAY, key __u32, value struct config, 1 entry. Written by user
//            space; the program reads it on every packet.
//   records  BPF_MAP_TYPE_ARRAY, key __u32, value struct record, 1 entry. Written by the
//            program on every packet (see xdp_typed below for exactly what).
//   samples  BPF_MAP_TYPE_HASH, key struct sample_key, value struct sample, 16 entries. The
//            program never touches it: it exists to put every other kind of type the codec
//            knows (bool, floats, pointers, 128-bit integers, unions, anonymous members,
//            u8 and 2-D char arrays, odd bitfields) into the object's BTF, and to give a
//            map a struct key with padding.
//
// Program xdp_typed (section "xdp"): on every packet, with cfg = config[0] and
// rec = records[0] (when either is missing it returns XDP_ABORTED):
//   rec->history[1] = rec->history[0]; rec->history[0] = rec->hdr;   (before the writes below)
//   rec->hdr       = { .version = packets seen including this one, .flags = 0x81, .delta = -5 }
//   rec->counts    = { packets seen, this packet's length, cfg->scale * length }
//   rec->mode      = cfg->mode
//   rec->small = 5, mid = 300, neg = -7, level = cfg->level, wide = 1234   (one __u32 of bitfields)
//   rec->big = 0xab12345678, tail = 0xc0ffee                               (one __u64 of bitfields)
//   rec->name      = cfg->tag (all 12 bytes)
//   rec->total    -= length
// and returns cfg->action (an enum xdp_action: XDP_DROP 1, XDP_PASS 2, ...).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum mode { MODE_OFF = 0, MODE_COUNT = 1, MODE_SAMPLE = 7 };

// clang 14 records SIGN_NEGATIVE as the unsigned 32-bit value 4294967295: BTF enums had
// no signedness before kernel 6.0 (kind_flag), and clang 14 predates it.
enum sign { SIGN_NEGATIVE = -1, SIGN_ZERO = 0, SIGN_POSITIVE = 1 };

struct config {
	enum xdp_action action;   // offset 0: what the program returns
	enum mode mode;           // offset 4: copied into record.mode
	__u32 scale;              // offset 8: record.counts[2] = scale * length
	__u8 level : 4;           // offset 12, bits 0-3: copied into record.level
	__u8 verbose : 1;         // offset 12, bit 4: unused by the program
	char tag[12];             // offset 13: copied into record.name
};                            // 28 bytes (3 bytes of tail padding)

struct header {
	__u16 version;
	__u8 flags;
	__s8 delta;
};                            // 4 bytes

struct record {
	struct header hdr;        // offset 0
	__u32 counts[3];          // offset 4
	enum mode mode;           // offset 16
	__u32 small : 3;          // bits 160-162
	__u32 mid : 9;            // bits 163-171: crosses from byte 20 into byte 21
	__s32 neg : 5;            // bits 172-176: signed, crosses from byte 21 into byte 22
	__u32 level : 4;          // bits 177-180
	__u32 wide : 11;          // bits 181-191
	__u64 big : 40;           // bits 192-231: five bytes
	__u64 tail : 24;          // bits 232-255
	char name[12];            // offset 32
	struct header history[2]; // offset 44
	__s64 total;              // offset 56 (4 bytes of padding before it)
};                            // 64 bytes

struct sample_key {
	__u32 ifindex;            // offset 0
	__u16 port;               // offset 4
	__u8 protocol;            // offset 6
};                            // 8 bytes (1 byte of tail padding)

struct sample {
	_Bool enabled;            // offset 0
	char letter;              // offset 1: a single char is a number
	signed char small;        // offset 2
	unsigned char byte;       // offset 3
	float ratio;              // offset 4
	double precise;           // offset 8
	void *where;              // offset 16
	unsigned __int128 huge;   // offset 32
	__int128 signed_huge;     // offset 48
	__s64 s64;                // offset 64
	__u64 u64;                // offset 72
	__u64 lead : 5;           // bits 640-644 (byte 80)
	__u64 span : 45;          // bits 645-689: 50 bits from byte 80, shifted by 5
	__s64 signed_span : 14;   // bits 690-703: byte 86 from bit 2, into byte 87
	__s16 s16;                // offset 88
	__u16 u16;                // offset 90
	__s32 s32;                // offset 92
	union {                   // offset 96: a named union decodes to its bytes
		__u32 word;
		__u8 octets[4];
	} raw;
	union {                   // offset 104: anonymous, so its members are members of sample
		__u64 as_u64;
		__s32 as_s32;
	};
	struct {                  // offset 112: anonymous, flattened likewise
		__u16 lo;
		__u16 hi;
	};
	__u8 mac[6];              // offset 116: __u8 arrays are numbers, never text
	char words[2][6];         // offset 122: an array of two strings
	enum sign sign;           // offset 136
	__u8 flag : 1;            // bit 1120 (byte 140, bit 0)
	_Bool ready : 1;          // bit 1121
	enum mode packed_mode : 3; // bits 1122-1124
	__u64 stamp;              // offset 144
	__u64 low : 3;            // bits 1216-1218 (byte 152)
	__s64 wide : 61;          // bits 1219-1279: 61 bits from byte 152, shifted by 3
};                            // 160 bytes (a multiple of 16, for the 128-bit members)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct config);
	__uint(max_entries, 1);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct record);
	__uint(max_entries, 1);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sample_key);
	__type(value, struct sample);
	__uint(max_entries, 16);
} samples SEC(".maps");

SEC("xdp")
int xdp_typed(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 length = data_end - data;
	__u32 zero = 0;

	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct record *rec = bpf_map_lookup_elem(&records, &zero);
	if (!cfg || !rec)
		return XDP_ABORTED;

	rec->history[1] = rec->history[0];
	rec->history[0] = rec->hdr;
	rec->counts[0] += 1;
	rec->counts[1] = length;
	rec->counts[2] = cfg->scale * length;
	rec->hdr.version = rec->counts[0];
	rec->hdr.flags = 0x81;
	rec->hdr.delta = -5;
	rec->mode = cfg->mode;
	rec->small = 5;
	rec->mid = 300;
	rec->neg = -7;
	rec->level = cfg->level;
	rec->wide = 1234;
	rec->big = 0xab12345678ULL;
	rec->tail = 0xc0ffee;
	__builtin_memcpy(rec->name, cfg->tag, sizeof(rec->name));
	rec->total -= length;
	return cfg->action;
}

char LICENSE[] SEC("license") = "GPL";
