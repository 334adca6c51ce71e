/* Prometheus text exposition. Modules add collectors; /metrics renders them in order. */
#ifndef BALIE_METRICS_H
#define BALIE_METRICS_H

#include "balie/strbuf.h"

typedef void (*metrics_collector_fn)(struct strbuf *out, void *arg);

/* Control thread only, at start-up. Returns 0 or -ENOSPC. */
int metrics_add_collector(metrics_collector_fn fn, void *arg);
void metrics_clear(void);
void metrics_render(struct strbuf *out);

/* Writes `# HELP` and `# TYPE` lines, then one sample without labels. */
void metrics_write_simple(struct strbuf *out, const char *name, const char *type, const char *help,
                          double value);

#endif
