/*
 * LD_PRELOAD shim for benchmarking Janus on loopback only.
 *
 * Janus (libnice underneath) skips every interface flagged IFF_LOOPBACK while it gathers ICE
 * candidates, before its ice_enforce_list applies, so a Janus told to use only 127.0.0.1
 * gathers nothing.  This wrapper calls the real getifaddrs() and clears IFF_LOOPBACK on "lo";
 * with ice_enforce_list = "127.0.0.1" Janus then offers 127.0.0.1 and nothing else.
 *
 * Build: gcc -shared -fPIC -O2 -o loopback_shim.so loopback_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>
#include <string.h>

typedef int (*getifaddrs_fn)(struct ifaddrs **);

int getifaddrs(struct ifaddrs **ifap) {
    static getifaddrs_fn real_getifaddrs = NULL;
    if (real_getifaddrs == NULL) {
        real_getifaddrs = (getifaddrs_fn)dlsym(RTLD_NEXT, "getifaddrs");
        if (real_getifaddrs == NULL) {
            return -1;
        }
    }
    int rc = real_getifaddrs(ifap);
    if (rc != 0) {
        return rc;
    }
    for (struct ifaddrs *ifa = *ifap; ifa != NULL; ifa = ifa->ifa_next) {
        if (ifa->ifa_name != NULL && strcmp(ifa->ifa_name, "lo") == 0) {
            ifa->ifa_flags &= ~(unsigned int)IFF_LOOPBACK;
        }
    }
    return rc;
}
