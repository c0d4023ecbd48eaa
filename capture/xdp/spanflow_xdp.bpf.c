// spanflow's XDP program: hands each packet of a receive queue that has an AF_XDP socket to that
// socket, and lets the packets of every other queue go on to the kernel, counting them per queue
// so traffic that RSS spreads to a queue nobody reads shows up in the report instead of vanishing.
// Built with clang -target bpf and embedded in the spanflow binary (capture/afxdp_source.cpp).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SPANFLOW_MAX_QUEUES 256

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, SPANFLOW_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SPANFLOW_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u64);
} unserved SEC(".maps");

SEC("xdp")
int spanflow_xdp(struct xdp_md *ctx) {
    __u32 queue = ctx->rx_queue_index;
    if (bpf_map_lookup_elem(&xsks_map, &queue)) return bpf_redirect_map(&xsks_map, queue, XDP_PASS);
    if (queue >= SPANFLOW_MAX_QUEUES) queue = SPANFLOW_MAX_QUEUES - 1;
    __u64 *count = bpf_map_lookup_elem(&unserved, &queue);
    if (count) *count += 1;
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
