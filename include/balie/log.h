/* JSON-lines logging on a file descriptor (stdout by default).
 *
 * One line per call: {"ts":…,"level":…,"component":…,"call":…,"msg":…}. Each line is
 * written with a single write(2), so lines from several threads never interleave.
 * Never pass personal data (BSN, name, token, chat text) to these functions: the
 * pseudonym and call ids are the only identifiers that may appear in a log. */
#ifndef BALIE_LOG_H
#define BALIE_LOG_H

enum log_level { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Sets the lowest level written and the descriptor lines go to. Safe to call again. */
void log_init(enum log_level min_level, int fd);

/* Parses "debug", "info", "warn" or "error". Returns 0, or -1 for any other text. */
int log_level_parse(const char *text, enum log_level *out);

enum log_level log_min_level(void);

/* `call_id` may be NULL. Never fails; a line that cannot be written is dropped. */
void log_write(enum log_level level, const char *component, const char *call_id, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

#define log_debug(component, ...) log_write(LOG_LEVEL_DEBUG, component, NULL, __VA_ARGS__)
#define log_info(component, ...) log_write(LOG_LEVEL_INFO, component, NULL, __VA_ARGS__)
#define log_warn(component, ...) log_write(LOG_LEVEL_WARN, component, NULL, __VA_ARGS__)
#define log_error(component, ...) log_write(LOG_LEVEL_ERROR, component, NULL, __VA_ARGS__)

#endif
