#include "balie/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_min = LOG_LEVEL_INFO;
static atomic_int log_fd = 1;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(enum log_level min_level, int fd)
{
    atomic_store(&log_min, (int)min_level);
    atomic_store(&log_fd, fd);
}

enum log_level log_min_level(void)
{
    return (enum log_level)atomic_load(&log_min);
}

int log_level_parse(const char *text, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Appends `src` JSON-escaped into line[*pos..cap), always leaving room for the closing text.
 * Control characters become \u00XX; the line is cut, never overrun. */
static void append_escaped(char *line, size_t *pos, size_t cap, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)src; *p && *pos + 7 < cap; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            line[(*pos)++] = '\\';
            line[(*pos)++] = (char)c;
        } else if (c < 0x20) {
            line[(*pos)++] = '\\';
            line[(*pos)++] = 'u';
            line[(*pos)++] = '0';
            line[(*pos)++] = '0';
            line[(*pos)++] = hex[c >> 4];
            line[(*pos)++] = hex[c & 15];
        } else {
            line[(*pos)++] = (char)c;
        }
    }
}

/* Appends `src` as it is, cut at the line's capacity. The line is not NUL-terminated: it is
 * written with its length. */
static void append_raw(char *line, size_t *pos, size_t cap, const char *src)
{
    while (*src && *pos + 1 < cap)
        line[(*pos)++] = *src++;
}

void log_write(enum log_level level, const char *component, const char *call_id, const char *fmt,
               ...)
{
    if ((int)level < atomic_load(&log_min) || level > LOG_LEVEL_ERROR)
        return;

    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[96];
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(ts.tv_nsec / 1000000) % 1000);

    char line[2048];
    size_t pos = 0, cap = sizeof(line) - 4; /* room for "\"}\n" */
    append_raw(line, &pos, cap, "{\"ts\":\"");
    append_raw(line, &pos, cap, stamp);
    append_raw(line, &pos, cap, "\",\"level\":\"");
    append_raw(line, &pos, cap, level_names[level]);
    append_raw(line, &pos, cap, "\",\"component\":\"");
    append_escaped(line, &pos, cap, component ? component : "-");
    if (call_id) {
        append_raw(line, &pos, cap, "\",\"call\":\"");
        append_escaped(line, &pos, cap, call_id);
    }
    append_raw(line, &pos, cap, "\",\"msg\":\"");
    append_escaped(line, &pos, cap, message);
    line[pos++] = '"';
    line[pos++] = '}';
    line[pos++] = '\n';

    /* One write per line keeps lines whole across threads. */
    ssize_t ignored = write(atomic_load(&log_fd), line, pos);
    (void)ignored;
}
