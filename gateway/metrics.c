#include "balie/metrics.h"

#include <errno.h>
#include <stddef.h>

#define METRICS_MAX_COLLECTORS 64

static struct {
    metrics_collector_fn fn;
    void *arg;
} collectors[METRICS_MAX_COLLECTORS];
static size_t collector_count;

int metrics_add_collector(metrics_collector_fn fn, void *arg)
{
    if (collector_count == METRICS_MAX_COLLECTORS)
        return -ENOSPC;
    collectors[collector_count].fn = fn;
    collectors[collector_count].arg = arg;
    collector_count++;
    return 0;
}

void metrics_clear(void)
{
    collector_count = 0;
}

void metrics_render(struct strbuf *out)
{
    for (size_t i = 0; i < collector_count; i++)
        collectors[i].fn(out, collectors[i].arg);
}

void metrics_write_simple(struct strbuf *out, const char *name, const char *type, const char *help,
                          double value)
{
    strbuf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name,
                   value);
}
