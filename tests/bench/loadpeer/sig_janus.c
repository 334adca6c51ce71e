/* Janus's videocall plugin over its WebSocket API (subprotocol janus-protocol). */
#include <stdio.h>

#include "loadpeer.h"

int lp_janus_run(struct lp_run *r)
{
    (void)r;
    fprintf(stderr, "loadpeer: the janus mode is not built yet\n");
    return -1;
}
